import sys


def main() -> None:
    data = sys.stdin.read()
    # TODO: Coin Change: read the input above, print the answer
    print("")


main()
