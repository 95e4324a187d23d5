# Loaded into every Perl program through PERL5OPT: standard output is written as it is printed,
# so a prompt appears before the program waits for input, even when stdout is a pipe.
package Padbox::Unbuffered;
$| = 1;
1;
