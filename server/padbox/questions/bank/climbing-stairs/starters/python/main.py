import sys


def main() -> None:
    data = sys.stdin.read()
    # TODO: Climbing Stairs: read the input above, print the answer
    print("")


main()
