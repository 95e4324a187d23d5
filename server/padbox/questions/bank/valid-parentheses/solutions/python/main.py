import sys

def main() -> None:
    text = sys.stdin.readline().strip()
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for ch in text:
        if ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                print("false")
                return
        else:
            stack.append(ch)
    print("true" if not stack else "false")

main()
