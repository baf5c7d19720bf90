// Try to create each path given, then delete the file given after --delete.
import java.io.File;
import java.io.FileWriter;

public class Main {
    public static void main(String[] args) {
        int i = 0;
        for (; i < args.length && !args[i].equals("--delete"); i++) {
            try (FileWriter w = new FileWriter(args[i])) {
                w.write("pwned");
                System.out.println("ESCAPED wrote " + args[i]);
            } catch (Exception e) {
                System.out.println("blocked write " + args[i] + ": " + e.getMessage());
            }
        }
        if (new File(args[i + 1]).delete()) System.out.println("ESCAPED deleted " + args[i + 1]);
        else System.out.println("blocked delete " + args[i + 1]);
    }
}
