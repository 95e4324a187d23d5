import sys


def main() -> None:
    data = sys.stdin.read()
    # TODO: Number of Islands: read the input above, print the answer
    print("")


main()
