# Loaded into every Ruby program through RUBYOPT: standard output is written as it is printed,
# so a prompt appears before the program waits for input, even when stdout is a pipe.
$stdout.sync = true
