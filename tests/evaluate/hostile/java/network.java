// Connect to a listener on the host's loopback and send a message.
import java.net.Socket;

public class Main {
    public static void main(String[] args) {
        try (Socket s = new Socket(args[0], Integer.parseInt(args[1]))) {
            s.getOutputStream().write("ESCAPED".getBytes());
            System.out.println("ESCAPED connected");
        } catch (Exception e) {
            System.out.println("blocked: " + e.getMessage());
            System.exit(1);
        }
    }
}
