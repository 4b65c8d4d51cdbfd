# The bench's "bench/ticker" image (images.json): one log line a second, for at most SECONDS
# seconds or until STOP_FILE exists, so that the bench ends its long-running pods when it has
# measured them. Perl rather than a shell loop: one process per pod, no `sleep` forked a second.
use strict;
use warnings;

my ($seconds, $stop_file) = @ARGV;
$| = 1;
for my $tick (1 .. $seconds) {
    last if defined $stop_file && -e $stop_file;
    print "tick $tick\n";
    sleep 1;
}
