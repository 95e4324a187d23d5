/* Start threads until the pids limit refuses one, say how many, then keep trying forever. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *idle(void *arg) { for (;;) pause(); return arg; }

int main(void) {
    int started = 0, reported = 0;
    for (;;) {
        pthread_t t;
        if (pthread_create(&t, NULL, idle, NULL) == 0) started++;
        else if (!reported) { printf("threads: %d\n", started); fflush(stdout); reported = 1; }
    }
}
