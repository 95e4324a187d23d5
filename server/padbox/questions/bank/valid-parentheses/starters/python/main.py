import sys


def main() -> None:
    data = sys.stdin.read()
    # TODO: Valid Parentheses: read the input above, print the answer
    print("")


main()
