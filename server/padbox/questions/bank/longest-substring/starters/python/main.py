import sys


def main() -> None:
    data = sys.stdin.read()
    # TODO: Longest Substring Without Repeating Characters: read the input above, print the answer
    print("")


main()
