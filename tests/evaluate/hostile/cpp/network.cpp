// Connect to a listener on the host's loopback and send a message.
#include <arpa/inet.h>
#include <cstdio>
#include <cstdlib>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char** argv) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(std::atoi(argv[2]));
    inet_pton(AF_INET, argv[1], &addr.sin_addr);
    if (connect(s, (sockaddr*)&addr, sizeof addr) == 0) {
        write(s, "ESCAPED", 7);
        std::printf("ESCAPED connected\n");
        return 0;
    }
    std::perror("blocked");
    return 1;
}
