#include <iostream>
#include <sstream>
#include <string>

int main() {
    std::stringstream input;
    input << std::cin.rdbuf();
    std::string data = input.str();
    // TODO: Valid Parentheses: read the input above, print the answer
    std::cout << "" << std::endl;
    return 0;
}
