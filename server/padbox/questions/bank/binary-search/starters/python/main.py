import sys


def main() -> None:
    data = sys.stdin.read()
    # TODO: Binary Search: read the input above, print the answer
    print("")


main()
