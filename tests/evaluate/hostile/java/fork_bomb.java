// Thread bomb: threads count against the process limit too.
public class Main {
    public static void main(String[] args) {
        for (;;) {
            try {
                new Thread(() -> { try { Thread.sleep(1_000_000); } catch (InterruptedException e) { } }).start();
            } catch (Throwable t) { }
        }
    }
}
