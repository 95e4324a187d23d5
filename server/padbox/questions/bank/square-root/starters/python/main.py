import sys


def main() -> None:
    data = sys.stdin.read()
    # TODO: Square Root: read the input above, print the answer
    print("")


main()
