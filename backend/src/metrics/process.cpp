#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "metrics/metrics.hpp"

namespace flashbill::metrics {

namespace {

long count_open_fds() {
    long n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (dirent* e = readdir(d)) {
            if (e->d_name[0] != '.') ++n;
        }
        closedir(d);
        --n;  // the directory stream's own descriptor
    }
    return n;
}

}  // namespace

void register_process_collector(std::string_view version) {
    const long ticks = sysconf(_SC_CLK_TCK);
    const long page = sysconf(_SC_PAGESIZE);
    long boot_time = 0;
    {
        std::ifstream in("/proc/stat");
        std::string key;
        while (in >> key) {
            if (key == "btime") {
                in >> boot_time;
                break;
            }
            in.ignore(1 << 20, '\n');
        }
    }
    std::string v(version);
    add_collector([ticks, page, boot_time, v](std::string& out) {
        std::ifstream stat("/proc/self/stat");
        std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        // Fields after the ")" that ends the command name: state is field 3; utime 14, stime 15,
        // starttime 22, rss 24 (1-based, per proc(5)).
        auto close = content.rfind(')');
        std::istringstream rest(close == std::string::npos ? std::string() : content.substr(close + 2));
        std::string field;
        long long utime = 0, stime = 0, starttime = 0, rss = 0;
        for (int i = 3; rest >> field; ++i) {
            if (i == 14) utime = std::stoll(field);
            else if (i == 15) stime = std::stoll(field);
            else if (i == 22) starttime = std::stoll(field);
            else if (i == 24) {
                rss = std::stoll(field);
                break;
            }
        }
        long long cpu_centi = (utime + stime) * 100 / ticks;
        out += "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n";
        out += "# TYPE process_cpu_seconds_total counter\n";
        out += "process_cpu_seconds_total " + std::to_string(cpu_centi / 100) + "." +
               (cpu_centi % 100 < 10 ? "0" : "") + std::to_string(cpu_centi % 100) + "\n";
        out += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n";
        out += "# TYPE process_resident_memory_bytes gauge\n";
        out += "process_resident_memory_bytes " + std::to_string(rss * page) + "\n";
        out += "# HELP process_open_fds Number of open file descriptors.\n";
        out += "# TYPE process_open_fds gauge\n";
        out += "process_open_fds " + std::to_string(count_open_fds()) + "\n";
        out += "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n";
        out += "# TYPE process_start_time_seconds gauge\n";
        out += "process_start_time_seconds " + std::to_string(boot_time + starttime / ticks) + "\n";
        out += "# HELP flashbill_build_info Build information.\n";
        out += "# TYPE flashbill_build_info gauge\n";
        out += "flashbill_build_info{version=\"" + label_value(v) + "\"} 1\n";
    });
}

}  // namespace flashbill::metrics
