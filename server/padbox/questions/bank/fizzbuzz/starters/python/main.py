import sys


def main() -> None:
    data = sys.stdin.read()
    # TODO: FizzBuzz: read the input above, print the answer
    print("")


main()
