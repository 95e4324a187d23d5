import sys


def main() -> None:
    data = sys.stdin.read()
    # TODO: Two Sum: read the input above, print the answer
    print("")


main()
