import sys


def main() -> None:
    data = sys.stdin.read()
    # TODO: Maximum Subarray: read the input above, print the answer
    print("")


main()
