import sys


def main() -> None:
    data = sys.stdin.read()
    # TODO: Valid Palindrome: read the input above, print the answer
    print("")


main()
