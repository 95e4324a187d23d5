import java.io.*;

public class Main {
    public static void main(String[] args) throws IOException {
        String data = new String(System.in.readAllBytes());
        // TODO: Number of Islands: read the input above, print the answer
        System.out.println("");
    }
}
