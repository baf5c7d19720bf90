// Allocate memory until something stops us.
import java.util.ArrayList;
import java.util.List;

public class Main {
    public static void main(String[] args) {
        List<long[]> keep = new ArrayList<>();
        for (;;) keep.add(new long[8 << 20]);
    }
}
