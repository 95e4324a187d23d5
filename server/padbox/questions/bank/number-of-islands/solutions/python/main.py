import sys

lines = sys.stdin.read().split()
rows, cols = int(lines[0]), int(lines[1])
grid = [list(row) for row in lines[2 : 2 + rows]]
islands = 0
for r in range(rows):
    for c in range(cols):
        if grid[r][c] != "1":
            continue
        islands += 1
        stack = [(r, c)]
        grid[r][c] = "0"
        while stack:
            y, x = stack.pop()
            for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= ny < rows and 0 <= nx < cols and grid[ny][nx] == "1":
                    grid[ny][nx] = "0"
                    stack.append((ny, nx))
print(islands)
