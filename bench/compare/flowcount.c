/*
 * flowcount: the C yardstick for `vtap-collector replay`.
 *
 * Reads a pcap with libpcap (pcap_open_offline + pcap_next_ex), decapsulates VXLAN (UDP 4789 and
 * 8472, RFC 7348) and Geneve (UDP 6081, RFC 8926) mirror traffic, parses the inner Ethernet
 * (802.1Q/802.1ad tags), IPv4/IPv6, TCP/UDP/ICMP headers, and keeps one bidirectional flow per
 * VNI + canonical 5-tuple in an open-addressing hash table: packets and IP bytes in each
 * direction, first and last packet time. At the end it prints the totals the replay's summary
 * prints, so the two programs can be seen to have done the same work.
 *
 * It follows the collector's decoding rules where they decide what is a flow: tunnels nest (a UDP
 * packet to a tunnel port inside a tunnel is decapsulated again, up to 3 tunnels), VXLAN with the
 * GPE P flag or without the I flag is rejected, Geneve may carry Ethernet or IP directly, ICMP
 * type and code travel in the port fields with request and reply mapped to one flow (as Community
 * ID does), and bytes are the inner IP datagram's length from its own header (mirror copies may
 * be truncated). It does less than the collector: no TCP state, no flow ids, no expiry, no
 * records written.
 *
 * Build: cc -O2 -Wall -Wextra -o flowcount flowcount.c -lpcap
 * Usage: flowcount capture.pcap
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_TUNNELS = 3, MAX_VLAN_TAGS = 4 };

/* Why a packet was not counted in a flow; the names are the replay summary's labels. */
enum reason {
    OK,
    NOT_IP,
    TRUNCATED,
    VXLAN_FLAG_NOT_SET,
    VXLAN_GPE_UNSUPPORTED,
    GENEVE_PROTOCOL_UNSUPPORTED,
    TOO_MANY_LAYERS,
    REASONS
};

static const char *const reason_names[REASONS] = {
    "decoded", "not_ip", "truncated", "vxlan_flag_not_set", "vxlan_gpe_unsupported",
    "geneve_protocol_unsupported", "too_many_layers",
};

/* The canonical key: the lower (address, port) end first, so both directions meet. */
struct flow_key {
    uint32_t vni;
    uint8_t ip_version;
    uint8_t protocol;
    uint16_t port_a;
    uint16_t port_b;
    uint16_t pad;
    uint8_t addr_a[16];
    uint8_t addr_b[16];
    uint32_t pad2; /* to 48 bytes: hashed and compared as six 64-bit words */
};
_Static_assert(sizeof(struct flow_key) == 48, "flow_key must be 48 bytes");

struct flow {
    struct flow_key key;
    uint64_t packets[2]; /* [0]: sent by end a, [1]: sent by end b */
    uint64_t bytes[2];
    int64_t first_ns;
    int64_t last_ns;
    uint32_t used;
};

struct table {
    struct flow *slots;
    size_t mask; /* capacity - 1, capacity a power of two */
    size_t count;
};

/* One decoded packet: the fields the flow table needs. */
struct packet {
    uint32_t vni;
    uint8_t ip_version;
    uint8_t protocol;
    uint16_t src_port;
    uint16_t dst_port;
    uint32_t ip_bytes;
    const uint8_t *src; /* 4 or 16 bytes inside the frame */
    const uint8_t *dst;
};

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void table_init(struct table *t, size_t capacity)
{
    t->slots = calloc(capacity, sizeof *t->slots);
    if (!t->slots) {
        perror("calloc");
        exit(1);
    }
    t->mask = capacity - 1;
    t->count = 0;
}

/* A 64-bit mix (the splitmix64 finaliser) over the key's words: cheap and well spread. */
static inline uint64_t key_hash(const struct flow_key *k)
{
    uint64_t words[sizeof *k / 8];
    memcpy(words, k, sizeof words);
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        h ^= words[i];
        h *= 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    return h ^ (h >> 29);
}

static struct flow *table_find_or_add(struct table *t, const struct flow_key *k);

/* Doubles the table when it is 3/4 full, so probe sequences stay short. */
static void table_grow(struct table *t)
{
    struct table bigger;
    table_init(&bigger, (t->mask + 1) * 2);
    for (size_t i = 0; i <= t->mask; i++) {
        if (t->slots[i].used) {
            struct flow *f = table_find_or_add(&bigger, &t->slots[i].key);
            *f = t->slots[i];
        }
    }
    free(t->slots);
    *t = bigger;
}

/* Linear probing; a new slot is returned zeroed except for its key and used flag. */
static struct flow *table_find_or_add(struct table *t, const struct flow_key *k)
{
    size_t i = (size_t)key_hash(k) & t->mask;
    for (;;) {
        struct flow *f = &t->slots[i];
        if (!f->used) {
            if ((t->count + 1) * 4 > (t->mask + 1) * 3) {
                table_grow(t);
                return table_find_or_add(t, k);
            }
            f->key = *k;
            f->used = 1;
            t->count++;
            return f;
        }
        if (memcmp(&f->key, k, sizeof *k) == 0)
            return f;
        i = (i + 1) & t->mask;
    }
}

/* ICMP request/reply pairs (RFC 792, 950, 1256; RFC 4443, 2710, 4861, 4620, 6275), as Community ID maps them. */
static int icmp_counterpart(uint8_t protocol, uint8_t type)
{
    static const uint8_t v4[][2] = { {8, 0}, {13, 14}, {15, 16}, {10, 9}, {17, 18} };
    static const uint8_t v6[][2] = { {128, 129}, {130, 131}, {133, 134}, {135, 136}, {139, 140}, {144, 145} };
    const uint8_t (*pairs)[2] = protocol == 1 ? v4 : v6;
    size_t n = protocol == 1 ? sizeof v4 / sizeof v4[0] : sizeof v6 / sizeof v6[0];
    for (size_t i = 0; i < n; i++) {
        if (pairs[i][0] == type)
            return pairs[i][1];
        if (pairs[i][1] == type)
            return pairs[i][0];
    }
    return -1;
}

static void account(struct table *t, const struct packet *p, int64_t ts_ns)
{
    struct flow_key k;
    memset(&k, 0, sizeof k);
    k.vni = p->vni;
    k.ip_version = p->ip_version;
    k.protocol = p->protocol;
    size_t alen = p->ip_version == 4 ? 4 : 16;
    int c = memcmp(p->src, p->dst, alen);
    int src_is_a = c < 0 || (c == 0 && p->src_port <= p->dst_port);
    memcpy(k.addr_a, src_is_a ? p->src : p->dst, alen);
    memcpy(k.addr_b, src_is_a ? p->dst : p->src, alen);
    k.port_a = src_is_a ? p->src_port : p->dst_port;
    k.port_b = src_is_a ? p->dst_port : p->src_port;

    struct flow *f = table_find_or_add(t, &k);
    int dir = src_is_a ? 0 : 1;
    if (f->packets[0] + f->packets[1] == 0)
        f->first_ns = ts_ns;
    f->packets[dir]++;
    f->bytes[dir] += p->ip_bytes;
    f->last_ns = ts_ns;
}

/* Skips up to MAX_VLAN_TAGS 802.1Q/802.1ad tags; returns the EtherType, *off past the header. */
static int ethernet(const uint8_t *d, uint32_t len, uint32_t *off, uint16_t *ethertype)
{
    if (len < *off + 14)
        return TRUNCATED;
    uint32_t o = *off + 12;
    uint16_t type = be16(d + o);
    for (int tags = 0; (type == 0x8100 || type == 0x88A8) && tags < MAX_VLAN_TAGS; tags++) {
        if (len < o + 6)
            return TRUNCATED;
        o += 4;
        type = be16(d + o);
    }
    *off = o + 2;
    *ethertype = type;
    return OK;
}

/*
 * Decodes one frame, outer to innermost: Ethernet, then IP/UDP layers, decapsulating while the UDP
 * destination port is a tunnel's.
 */
static int decode(const uint8_t *d, uint32_t len, struct packet *p)
{
    uint32_t off = 0;
    uint16_t ethertype;
    int r = ethernet(d, len, &off, &ethertype);
    if (r != OK)
        return r;
    p->vni = 0;
    for (int tunnels = 0;; ) {
        uint32_t l4;
        if (ethertype == 0x0800) {
            if (len < off + 20)
                return TRUNCATED;
            const uint8_t *ip = d + off;
            uint32_t ihl = (uint32_t)(ip[0] & 0x0F) * 4;
            if ((ip[0] >> 4) != 4 || ihl < 20 || len < off + ihl)
                return TRUNCATED;
            p->ip_version = 4;
            p->protocol = ip[9];
            p->ip_bytes = be16(ip + 2);
            p->src = ip + 12;
            p->dst = ip + 16;
            l4 = off + ihl;
        } else if (ethertype == 0x86DD) {
            if (len < off + 40)
                return TRUNCATED;
            const uint8_t *ip = d + off;
            p->ip_version = 6;
            p->protocol = ip[6]; /* extension headers are not walked: the corpus has none */
            p->ip_bytes = 40u + be16(ip + 4);
            p->src = ip + 8;
            p->dst = ip + 24;
            l4 = off + 40;
        } else {
            return NOT_IP;
        }

        p->src_port = p->dst_port = 0;
        if (p->protocol == 6 || p->protocol == 17) {
            if (len < l4 + 4)
                return TRUNCATED;
            p->src_port = be16(d + l4);
            p->dst_port = be16(d + l4 + 2);
        } else if (p->protocol == 1 || p->protocol == 58) {
            if (len < l4 + 2)
                return TRUNCATED;
            int other = icmp_counterpart(p->protocol, d[l4]);
            p->src_port = d[l4];
            p->dst_port = other >= 0 ? (uint16_t)other : d[l4 + 1];
        }
        if (p->protocol != 17)
            return OK;

        uint16_t port = p->dst_port;
        if (port != 4789 && port != 8472 && port != 6081 && port != 4790)
            return OK;
        if (tunnels == MAX_TUNNELS)
            return TOO_MANY_LAYERS;
        tunnels++;
        uint32_t t = l4 + 8;
        if (port == 4790)
            return VXLAN_GPE_UNSUPPORTED;
        if (port == 6081) {
            /* Geneve: ver/optlen, flags, protocol type, VNI(24) reserved(8), options. */
            if (len < t + 8)
                return TRUNCATED;
            uint32_t hlen = 8 + (uint32_t)(d[t] & 0x3F) * 4;
            if (len < t + hlen)
                return TRUNCATED;
            uint16_t proto = be16(d + t + 2);
            p->vni = be32(d + t + 4) >> 8;
            off = t + hlen;
            if (proto == 0x6558) {
                r = ethernet(d, len, &off, &ethertype);
                if (r != OK)
                    return r;
            } else if (proto == 0x0800 || proto == 0x86DD) {
                ethertype = proto; /* IP straight after Geneve, as GCP mirroring sends it */
            } else {
                return GENEVE_PROTOCOL_UNSUPPORTED;
            }
        } else {
            /* VXLAN: flags(8) reserved(24) VNI(24) reserved(8). */
            if (len < t + 8)
                return TRUNCATED;
            if (d[t] & 0x04)
                return VXLAN_GPE_UNSUPPORTED;
            if (!(d[t] & 0x08))
                return VXLAN_FLAG_NOT_SET;
            p->vni = be32(d + t + 4) >> 8;
            off = t + 8;
            r = ethernet(d, len, &off, &ethertype);
            if (r != OK)
                return r;
        }
    }
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s capture.pcap\n", argv[0]);
        return 2;
    }
    double start = now_seconds();
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *pcap = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!pcap) {
        fprintf(stderr, "flowcount: %s\n", errbuf);
        return 1;
    }
    if (pcap_datalink(pcap) != DLT_EN10MB) {
        fprintf(stderr, "flowcount: %s: link type %d, expected Ethernet\n", argv[1], pcap_datalink(pcap));
        return 1;
    }

    struct table flows;
    table_init(&flows, 1u << 16); /* grows by doubling */
    uint64_t packets = 0, captured = 0, reasons[REASONS] = {0};
    struct pcap_pkthdr *header;
    const u_char *data;
    int status;
    while ((status = pcap_next_ex(pcap, &header, &data)) == 1) {
        packets++;
        captured += header->caplen;
        struct packet p;
        int r = decode(data, header->caplen, &p);
        reasons[r]++;
        if (r == OK)
            account(&flows, &p, (int64_t)header->ts.tv_sec * 1000000000 + header->ts.tv_usec); /* tv_usec holds ns at nano precision */
    }
    if (status == -1) {
        fprintf(stderr, "flowcount: %s: %s\n", argv[1], pcap_geterr(pcap));
        return 1;
    }
    pcap_close(pcap);

    uint64_t flow_packets = 0, flow_bytes = 0;
    for (size_t i = 0; i <= flows.mask; i++) {
        const struct flow *f = &flows.slots[i];
        if (f->used) {
            flow_packets += f->packets[0] + f->packets[1];
            flow_bytes += f->bytes[0] + f->bytes[1];
        }
    }
    double elapsed = now_seconds() - start;

    printf("flowcount of %s\n", argv[1]);
    printf("  packets      %12llu   (%llu bytes captured)\n", (unsigned long long)packets, (unsigned long long)captured);
    for (int r = 0; r < REASONS; r++) {
        if (r == OK || reasons[r] != 0)
            printf("  %-28s %12llu\n", reason_names[r], (unsigned long long)reasons[r]);
    }
    printf("  flows        %12zu   (%llu packets, %llu IP bytes in them)\n", flows.count, (unsigned long long)flow_packets, (unsigned long long)flow_bytes);
    printf("  elapsed      %12.3f s (%.0f packets/s)\n", elapsed, (double)packets / elapsed);
    free(flows.slots);
    return 0;
}
