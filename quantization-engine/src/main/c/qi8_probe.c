/*
 * Two probes for the benchmarks, to derive the machine's VNNI peak from measurements rather than
 * from the clock a virtual machine reports (/proc/cpuinfo shows the nominal TSC rate, not the
 * boost clock the core runs at):
 *  - qi8_probe_add_chain: 4n dependent 1-cycle integer adds, so n / time * 4 is the core clock;
 *  - qi8_probe_vnni: 16n independent zmm vpdpbusd (16 chains hide the latency), so
 *    16n / time is the sustained vpdpbusd issue rate (64 multiply-adds, 128 ops each).
 */
#include "qi8.h"


QI8_EXPORT int64_t qi8_probe_add_chain(int64_t n) {
    int64_t x = 0;
    for (int64_t i = 0; i < n; i++) {
        /* volatile asm: the compiler may neither fold the chain nor vectorize it. */
        __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(x));
    }
    return x;
}

__attribute__((target("avx512f,avx512vnni"))) QI8_EXPORT int64_t qi8_probe_vnni(int64_t n) {
    if (n <= 0) {
        return 0;
    }
    /* Written in assembly: compilers copy accumulators around in such a loop (gcc 12 did),
       and the probe must issue nothing but the 16 vpdpbusd and the loop branch. */
    __asm__ volatile(
            "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
            "1:\n\t"
            "vpdpbusd %%zmm0, %%zmm0, %%zmm16\n\tvpdpbusd %%zmm0, %%zmm0, %%zmm17\n\t"
            "vpdpbusd %%zmm0, %%zmm0, %%zmm18\n\tvpdpbusd %%zmm0, %%zmm0, %%zmm19\n\t"
            "vpdpbusd %%zmm0, %%zmm0, %%zmm20\n\tvpdpbusd %%zmm0, %%zmm0, %%zmm21\n\t"
            "vpdpbusd %%zmm0, %%zmm0, %%zmm22\n\tvpdpbusd %%zmm0, %%zmm0, %%zmm23\n\t"
            "vpdpbusd %%zmm0, %%zmm0, %%zmm24\n\tvpdpbusd %%zmm0, %%zmm0, %%zmm25\n\t"
            "vpdpbusd %%zmm0, %%zmm0, %%zmm26\n\tvpdpbusd %%zmm0, %%zmm0, %%zmm27\n\t"
            "vpdpbusd %%zmm0, %%zmm0, %%zmm28\n\tvpdpbusd %%zmm0, %%zmm0, %%zmm29\n\t"
            "vpdpbusd %%zmm0, %%zmm0, %%zmm30\n\tvpdpbusd %%zmm0, %%zmm0, %%zmm31\n\t"
            "dec %0\n\t"
            "jnz 1b\n\t"
            : "+r"(n)
            :
            : "xmm0", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
              "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc");
    return n;
}
