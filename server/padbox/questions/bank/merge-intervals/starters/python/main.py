import sys


def main() -> None:
    data = sys.stdin.read()
    # TODO: Merge Intervals: read the input above, print the answer
    print("")


main()
