// Burn CPU forever on every core.
public class Main {
    public static void main(String[] args) throws Exception {
        for (int i = 0; i < 4; i++) {
            new Thread(() -> { long n = 0; for (;;) n++; }).start();
        }
        for (;;) { }
    }
}
