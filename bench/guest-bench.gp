# Plots of a bench/guest-bench run: gnuplot -e "dir='DIR'" bench/guest-bench.gp
# (DIR holds the .dat/.cdf files of bench/guest-bench-report); writes DIR/throughput.png and
# DIR/rtt-cdf.png.
if (!exists("dir")) dir = "."
# before=1: the run measured an older daemon too (bench/guest-bench --before)
if (!exists("before")) before = 0
tbefore = before ? sprintf(", '%s/throughput-large.dat' using 1:9:10:11 with yerrorlines lw 2 lc rgb '#7f7f7f' title 'usbip-cuse before, largest loopback'", dir) : ""
rbefore = before ? sprintf(", '%s/rtt-before-block.cdf' using 1:2 with lines lw 2 lc rgb '#7f7f7f' title 'usbip-cuse before, blocking read()'", dir) : ""
set terminal pngcairo size 960,600 font "sans,11"
set grid
set key bottom right

set output dir."/throughput.png"
set title "Loopback throughput against write size (median, bars: min-max over rounds)"
set xlabel "bytes per write()"
set ylabel "MB/s (payload, 10^6 B)"
set logscale x 2
set logscale y 10
set xrange [0.5:32768]
set yrange [*:*]
plot dir."/throughput-large.dat" using 1:3:4:5 with yerrorlines lw 2 lc rgb "#d62728" \
         title "usbip-cuse /dev/ttyUSBIP0, largest loopback", \
     dir."/throughput-large.dat" using 1:6:7:8 with yerrorlines lw 2 lc rgb "#1f77b4" \
         title "kernel cdc-acm /dev/ttyACM0, largest loopback", \
     dir."/throughput-small.dat" using 1:3:4:5 with yerrorlines lw 1 dt 2 lc rgb "#d62728" \
         title "usbip-cuse, smallest loopback", \
     dir."/throughput-small.dat" using 1:6:7:8 with yerrorlines lw 1 dt 2 lc rgb "#1f77b4" \
         title "kernel, smallest loopback"@tbefore

set output dir."/rtt-cdf.png"
set title "One-byte round trip, CDF (all rounds)"
set xlabel "round trip, ms"
set ylabel "fraction of pings"
set logscale x 10
unset logscale y
set xrange [*:*]
set yrange [0:1]
set key bottom right
plot dir."/rtt-ours-block.cdf" using 1:2 with lines lw 2 lc rgb "#d62728" \
         title "usbip-cuse, blocking read()", \
     dir."/rtt-ours-select.cdf" using 1:2 with lines lw 2 dt 2 lc rgb "#d62728" \
         title "usbip-cuse, select()+read()", \
     dir."/rtt-ours-poll.cdf" using 1:2 with lines lw 2 dt 3 lc rgb "#d62728" \
         title "usbip-cuse, poll()+read()", \
     dir."/rtt-kernel-block.cdf" using 1:2 with lines lw 2 lc rgb "#1f77b4" \
         title "kernel, blocking read()", \
     dir."/rtt-kernel-select.cdf" using 1:2 with lines lw 2 dt 2 lc rgb "#1f77b4" \
         title "kernel, select()+read()", \
     dir."/rtt-kernel-poll.cdf" using 1:2 with lines lw 2 dt 3 lc rgb "#1f77b4" \
         title "kernel, poll()+read()" @rbefore
