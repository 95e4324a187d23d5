import sys

def main() -> None:
    data = sys.stdin.read().split()
    n = int(data[0])
    numbers = list(map(int, data[1 : n + 1]))
    target = int(data[n + 1])
    seen: dict[int, int] = {}
    for j, value in enumerate(numbers):
        if target - value in seen:
            print(seen[target - value], j)
            return
        seen[value] = j

main()
