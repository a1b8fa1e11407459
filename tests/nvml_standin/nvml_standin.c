/*
 * A stand-in libnvidia-ml.so.1 for ranklog's tests: it exports the NVML entry points that
 * nvml-wrapper 0.13 resolves and ranklog's NvmlSource calls, and answers them from a
 * scenario file (RANKLOG_NVML_STANDIN, format in tests/nvml_standin/README.md) instead of
 * a driver. Tests build it (tests/nvml_standin/mod.rs) and put its directory on
 * LD_LIBRARY_PATH of the processes they start; nothing outside tests/ ever loads it.
 *
 * Types and constants follow nvml.h as bound by nvml-wrapper-sys 0.10 (src/bindings.rs).
 * Every query validates its handle and output pointers as NVML does (INVALID_ARGUMENT),
 * answers UNINITIALIZED before nvmlInit_v2, and logs init, shutdown, handle-by-UUID calls
 * and sampling rounds to the scenario's `calls` file, one line per event:
 * `<pid> <event> [detail]`.
 *
 * A sampling round: the stand-in cannot see the sampler's rounds, so it counts them from
 * the queries: a query of a (device, kind) pair already asked in the current round begins
 * the next one. Round numbers start at 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int nvmlReturn_t;
enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_UNKNOWN = 999,
};

typedef struct {
    char busIdLegacy[16];
    unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
    char busId[32];
} nvmlPciInfo_t;

typedef struct {
    unsigned int gpu, memory;
} nvmlUtilization_t;

typedef struct {
    unsigned long long total, free, used;
} nvmlMemory_t;

typedef struct {
    unsigned int version;
    unsigned long long total, reserved, free, used;
} nvmlMemory_v2_t;

typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;

#define MAX_GPUS 16
#define MAX_MIGS 7
#define MAX_PROCS 16
#define TEXT 96
/* NVML_VALUE_NOT_AVAILABLE as an unsigned long long: the driver does not say. */
#define NOT_AVAILABLE 0xFFFFFFFFFFFFFFFFULL
#define NO_ID 0xFFFFFFFFu

/* The queries, as bits of a device's `asked` mask and indices of its `fault` array. */
enum kind {
    K_NAME, K_UUID, K_PCI, K_MEMORY, K_UTIL, K_TEMP, K_POWER, K_CLOCK, K_ENERGY, K_PROCS,
    K_MIG_MODE, K_MIG_COUNT, K_MIG_HANDLE, K_BY_UUID, K_KINDS
};
static const char *const KIND_KEYS[K_KINDS] = {
    "name", "uuid", "pci_bus_id", "memory", "utilization", "temperature_c", "power_mw",
    "sm_clock_mhz", "energy_mj", "processes", "mig_mode", "mig_count", "mig_handle", "by_uuid",
};

struct proc {
    unsigned int pid; /* 0: the calling process (`self` in the scenario) */
    unsigned long long used; /* NOT_AVAILABLE: the driver does not say */
};

struct dev {
    int present;
    int is_mig;
    unsigned int index, mig_index;
    struct dev *parent;
    char name[TEXT], uuid[TEXT], pci[32];
    unsigned long long mem_total, mem_reserved, mem_used;
    unsigned int util_gpu, util_mem, temp_c, power_mw, sm_clock;
    unsigned long long energy_mj, energy_step_mj;
    struct proc procs[MAX_PROCS];
    int nprocs;
    unsigned int mig_mode, mig_max;
    int fault[K_KINDS];
    /* GPU_IS_LOST in rounds lost_from <= round < lost_until (0: never; until 0: forever). */
    unsigned long lost_from, lost_until;
    unsigned int asked; /* kinds asked this round */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int loaded; /* scenario read */
static int load_error; /* what nvmlInit answers when the scenario says or is bad */
static int inits; /* nvmlInit_v2 minus nvmlShutdown */
static unsigned long round_no = 1;
static unsigned int ngpus;
static char driver_version[TEXT] = "550.54.15";
static char calls_path[4096];
static struct dev gpus[MAX_GPUS];
/* migs[i][m]: MIG device m of GPU i, when `present`. */
static struct dev migs[MAX_GPUS][MAX_MIGS];

static void note(const char *event, const char *detail) {
    if (!calls_path[0]) return;
    int fd = open(calls_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    char line[512];
    int n = snprintf(line, sizeof line, "%d %s%s%s\n", (int)getpid(), event,
                     detail ? " " : "", detail ? detail : "");
    if (n > 0) {
        ssize_t w = write(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        (void)w;
    }
    close(fd);
}

static int error_code(const char *v) {
    static const struct { const char *name; int code; } names[] = {
        {"NOT_SUPPORTED", NVML_ERROR_NOT_SUPPORTED}, {"NO_PERMISSION", NVML_ERROR_NO_PERMISSION},
        {"GPU_IS_LOST", NVML_ERROR_GPU_IS_LOST}, {"UNKNOWN", NVML_ERROR_UNKNOWN},
        {"NOT_FOUND", NVML_ERROR_NOT_FOUND}, {"DRIVER_NOT_LOADED", NVML_ERROR_DRIVER_NOT_LOADED},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(v, names[i].name) == 0) return names[i].code;
    return -1;
}

static int parse_u64(const char *v, unsigned long long *out) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v || *end || *v == '-') return -1;
    *out = n;
    return 0;
}

static void bad(const char *path, int line, const char *why) {
    fprintf(stderr, "nvml stand-in: %s:%d: %s\n", path, line, why);
    load_error = NVML_ERROR_UNKNOWN;
}

static void copy_text(char *dst, size_t size, const char *v) {
    snprintf(dst, size, "%s", v);
}

/* `pid:bytes pid:- self:bytes` */
static int parse_procs(struct dev *d, const char *v) {
    d->nprocs = 0;
    char buf[1024];
    copy_text(buf, sizeof buf, v);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *colon = strchr(tok, ':');
        if (!colon || d->nprocs == MAX_PROCS) return -1;
        *colon = 0;
        struct proc *p = &d->procs[d->nprocs];
        unsigned long long pid;
        if (strcmp(tok, "self") == 0) pid = 0;
        else if (parse_u64(tok, &pid) || pid == 0 || pid > 0xFFFFFFFFull) return -1;
        p->pid = (unsigned int)pid;
        if (strcmp(colon + 1, "-") == 0) p->used = NOT_AVAILABLE;
        else if (parse_u64(colon + 1, &p->used)) return -1;
        d->nprocs++;
    }
    return 0;
}

/* One `key = value` of device `d`; `key` is what follows `gpuN.` or `gpuN.migM.`. */
static int set_field(struct dev *d, const char *key, const char *v) {
    int code = error_code(v);
    for (int k = 0; k < K_KINDS; k++) {
        if (code > 0 && strcmp(key, KIND_KEYS[k]) == 0) {
            d->fault[k] = code;
            return 0;
        }
    }
    unsigned long long n = 0;
    if (strcmp(key, "name") == 0) copy_text(d->name, sizeof d->name, v);
    else if (strcmp(key, "uuid") == 0) copy_text(d->uuid, sizeof d->uuid, v);
    else if (strcmp(key, "pci_bus_id") == 0) copy_text(d->pci, sizeof d->pci, v);
    else if (strcmp(key, "processes") == 0) return parse_procs(d, v);
    else {
        if (parse_u64(v, &n)) return -1;
        if (strcmp(key, "memory_total") == 0) d->mem_total = n;
        else if (strcmp(key, "memory_reserved") == 0) d->mem_reserved = n;
        else if (strcmp(key, "memory_used") == 0) d->mem_used = n;
        else if (strcmp(key, "utilization_gpu") == 0) d->util_gpu = (unsigned int)n;
        else if (strcmp(key, "utilization_memory") == 0) d->util_mem = (unsigned int)n;
        else if (strcmp(key, "temperature_c") == 0) d->temp_c = (unsigned int)n;
        else if (strcmp(key, "power_mw") == 0) d->power_mw = (unsigned int)n;
        else if (strcmp(key, "sm_clock_mhz") == 0) d->sm_clock = (unsigned int)n;
        else if (strcmp(key, "energy_mj") == 0) d->energy_mj = n;
        else if (strcmp(key, "energy_step_mj") == 0) d->energy_step_mj = n;
        else if (strcmp(key, "mig_mode") == 0) d->mig_mode = (unsigned int)n;
        else if (strcmp(key, "mig_max") == 0 && n <= MAX_MIGS) d->mig_max = (unsigned int)n;
        else if (strcmp(key, "lost_from") == 0) d->lost_from = (unsigned long)n;
        else if (strcmp(key, "lost_until") == 0) d->lost_until = (unsigned long)n;
        else return -1;
    }
    return 0;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r')) end--;
    *end = 0;
    return s;
}

/* Reads the scenario once per process; a bad one makes nvmlInit_v2 fail (UNKNOWN). */
static void load(void) {
    if (loaded) return;
    loaded = 1;
    const char *path = getenv("RANKLOG_NVML_STANDIN");
    if (!path) {
        fprintf(stderr, "nvml stand-in: RANKLOG_NVML_STANDIN is not set\n");
        load_error = NVML_ERROR_DRIVER_NOT_LOADED;
        return;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "nvml stand-in: cannot read %s: %s\n", path, strerror(errno));
        load_error = NVML_ERROR_DRIVER_NOT_LOADED;
        return;
    }
    char line[1400];
    int no = 0;
    while (fgets(line, sizeof line, f)) {
        no++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) { bad(path, no, "expected `key = value`"); continue; }
        *eq = 0;
        char *key = trim(s), *v = trim(eq + 1);
        if (strcmp(key, "gpus") == 0) {
            unsigned long long n;
            if (parse_u64(v, &n) || n > MAX_GPUS) bad(path, no, "gpus: 0 to 16");
            else ngpus = (unsigned int)n;
        } else if (strcmp(key, "driver_version") == 0) {
            copy_text(driver_version, sizeof driver_version, v);
        } else if (strcmp(key, "calls") == 0) {
            copy_text(calls_path, sizeof calls_path, v);
        } else if (strcmp(key, "init") == 0) {
            int code = error_code(v);
            if (code < 0) bad(path, no, "init: an NVML error name");
            else load_error = code;
        } else if (strncmp(key, "gpu", 3) == 0) {
            char *rest;
            unsigned long i = strtoul(key + 3, &rest, 10);
            if (rest == key + 3 || *rest != '.' || i >= MAX_GPUS) { bad(path, no, "gpuN.field with N < 16"); continue; }
            struct dev *d = &gpus[i];
            rest++;
            if (strncmp(rest, "mig", 3) == 0 && rest[3] >= '0' && rest[3] <= '9') {
                char *after;
                unsigned long m = strtoul(rest + 3, &after, 10);
                if (*after != '.' || m >= MAX_MIGS) { bad(path, no, "gpuN.migM.field with M < 7"); continue; }
                d = &migs[i][m];
                d->present = 1;
                rest = after + 1;
            }
            if (set_field(d, rest, v)) bad(path, no, "unknown field or bad value");
        } else {
            bad(path, no, "unknown key");
        }
    }
    fclose(f);
    for (unsigned int i = 0; i < MAX_GPUS; i++) {
        struct dev *g = &gpus[i];
        g->present = i < ngpus;
        g->index = i;
        if (!g->uuid[0]) snprintf(g->uuid, sizeof g->uuid, "GPU-5ce0a0%02u-0000-4000-8000-00000000%04u", i, i);
        if (!g->name[0]) copy_text(g->name, sizeof g->name, "NVIDIA H100 80GB HBM3");
        if (!g->pci[0]) snprintf(g->pci, sizeof g->pci, "00000000:%02X:00.0", 0x18 + i);
        if (!g->mig_max) g->mig_max = MAX_MIGS;
        for (unsigned int m = 0; m < MAX_MIGS; m++) {
            struct dev *d = &migs[i][m];
            d->is_mig = 1;
            d->index = i;
            d->mig_index = m;
            d->parent = g;
            if (!d->present) continue;
            if (!d->uuid[0]) snprintf(d->uuid, sizeof d->uuid, "MIG-5ce0a0%02u-%04u-4000-8000-000000000000", i, m);
            if (!d->name[0]) copy_text(d->name, sizeof d->name, "NVIDIA H100 80GB HBM3 MIG 1g.10gb");
            copy_text(d->pci, sizeof d->pci, g->pci);
            if (!d->fault[K_UTIL]) d->fault[K_UTIL] = NVML_ERROR_NOT_SUPPORTED;
        }
    }
}

/* The device behind `handle`, or NULL when it is not one of ours. */
static struct dev *device(void *handle) {
    for (unsigned int i = 0; i < ngpus; i++) {
        if (handle == &gpus[i]) return &gpus[i];
        for (unsigned int m = 0; m < MAX_MIGS; m++)
            if (handle == &migs[i][m] && migs[i][m].present) return &migs[i][m];
    }
    return NULL;
}

static void clear_asked(void) {
    for (unsigned int i = 0; i < ngpus; i++) {
        gpus[i].asked = 0;
        for (unsigned int m = 0; m < MAX_MIGS; m++) migs[i][m].asked = 0;
    }
}

/* Counts the query (maybe beginning a round) and says how it fails, if it does. */
static int ask(struct dev *d, enum kind k) {
    if (d->asked & (1u << k)) {
        round_no++;
        clear_asked();
        char n[32];
        snprintf(n, sizeof n, "%lu", round_no);
        note("round", n);
    }
    d->asked |= 1u << k;
    struct dev *g = d->is_mig ? d->parent : d;
    if (g->lost_from && round_no >= g->lost_from && (!g->lost_until || round_no < g->lost_until))
        return NVML_ERROR_GPU_IS_LOST;
    return d->fault[k];
}

/* Locks, checks init and the handle, counts the query: the common start of a query.
 * `again`: a repeat of this kind within a round is expected (a list's second call, the
 * next MIG index) and does not begin a new round. */
#define QUERY_OF(handle, kind, out, again)                                     \
    struct dev *d;                                                             \
    pthread_mutex_lock(&lock);                                                 \
    if (!inits) { pthread_mutex_unlock(&lock); return NVML_ERROR_UNINITIALIZED; } \
    d = device(handle);                                                        \
    if (!d || !(out)) { pthread_mutex_unlock(&lock); return NVML_ERROR_INVALID_ARGUMENT; } \
    if (again) d->asked &= ~(1u << (kind));                                    \
    { int fail_ = ask(d, kind); if (fail_) { pthread_mutex_unlock(&lock); return fail_; } }
#define QUERY(handle, kind, out) QUERY_OF(handle, kind, out, 0)

#define DONE(code) do { pthread_mutex_unlock(&lock); return (code); } while (0)

nvmlReturn_t nvmlInit_v2(void) {
    pthread_mutex_lock(&lock);
    load();
    note("init", NULL);
    if (load_error) DONE(load_error);
    inits++;
    DONE(NVML_SUCCESS);
}

nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
    (void)flags;
    return nvmlInit_v2();
}

nvmlReturn_t nvmlInit(void) { return nvmlInit_v2(); }

nvmlReturn_t nvmlShutdown(void) {
    pthread_mutex_lock(&lock);
    note("shutdown", NULL);
    if (!inits) DONE(NVML_ERROR_UNINITIALIZED);
    inits--;
    DONE(NVML_SUCCESS);
}

const char *nvmlErrorString(nvmlReturn_t r) {
    switch (r) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    default: return "Unknown Error";
    }
}

static nvmlReturn_t put_text(char *out, unsigned int length, const char *text) {
    if (!out) return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(text) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(out, text, strlen(text) + 1);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    pthread_mutex_lock(&lock);
    if (!inits) DONE(NVML_ERROR_UNINITIALIZED);
    DONE(put_text(version, length, driver_version));
}

nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length) {
    return nvmlSystemGetDriverVersion(version, length);
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    pthread_mutex_lock(&lock);
    if (!inits) DONE(NVML_ERROR_UNINITIALIZED);
    if (!count) DONE(NVML_ERROR_INVALID_ARGUMENT);
    *count = ngpus;
    DONE(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, void **device) {
    pthread_mutex_lock(&lock);
    if (!inits) DONE(NVML_ERROR_UNINITIALIZED);
    if (!device || index >= ngpus) DONE(NVML_ERROR_INVALID_ARGUMENT);
    *device = &gpus[index];
    DONE(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, void **device) {
    pthread_mutex_lock(&lock);
    if (!inits) DONE(NVML_ERROR_UNINITIALIZED);
    if (!uuid || !device) DONE(NVML_ERROR_INVALID_ARGUMENT);
    note("by_uuid", uuid);
    for (unsigned int i = 0; i < ngpus; i++) {
        struct dev *found = NULL;
        if (strcmp(gpus[i].uuid, uuid) == 0) found = &gpus[i];
        for (unsigned int m = 0; m < MAX_MIGS && !found; m++)
            if (migs[i][m].present && strcmp(migs[i][m].uuid, uuid) == 0) found = &migs[i][m];
        if (found) {
            int fail = ask(found, K_BY_UUID);
            if (fail) DONE(fail);
            *device = found;
            DONE(NVML_SUCCESS);
        }
    }
    DONE(NVML_ERROR_NOT_FOUND);
}

nvmlReturn_t nvmlDeviceGetName(void *handle, char *name, unsigned int length) {
    QUERY(handle, K_NAME, name);
    DONE(put_text(name, length, d->name));
}

nvmlReturn_t nvmlDeviceGetUUID(void *handle, char *uuid, unsigned int length) {
    QUERY(handle, K_UUID, uuid);
    DONE(put_text(uuid, length, d->uuid));
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(void *handle, nvmlPciInfo_t *pci) {
    QUERY(handle, K_PCI, pci);
    memset(pci, 0, sizeof *pci);
    unsigned int domain = 0, bus = 0, dev = 0;
    sscanf(d->pci, "%x:%x:%x", &domain, &bus, &dev);
    pci->domain = domain;
    pci->bus = bus;
    pci->device = dev;
    pci->pciDeviceId = 0x233010DE;
    pci->pciSubSystemId = 0x16C110DE;
    copy_text(pci->busId, sizeof pci->busId, d->pci);
    copy_text(pci->busIdLegacy, sizeof pci->busIdLegacy, d->pci + (strlen(d->pci) > 12 ? 4 : 0));
    DONE(NVML_SUCCESS);
}

/* Memory: `used` grows with what this process allocated through the stand-in's hook. */
static void fill_memory(struct dev *d, unsigned long long *total, unsigned long long *reserved,
                        unsigned long long *free_, unsigned long long *used) {
    unsigned long long taken = d->mem_reserved + d->mem_used;
    *total = d->mem_total;
    *reserved = d->mem_reserved;
    *used = d->mem_used;
    *free_ = d->mem_total > taken ? d->mem_total - taken : 0;
}

/* Drivers before R510 lack the _v2 call: -DSTANDIN_WITHOUT_MEMORY_V2 builds such a one. */
#ifndef STANDIN_WITHOUT_MEMORY_V2
nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(void *handle, nvmlMemory_v2_t *memory) {
    QUERY(handle, K_MEMORY, memory);
    if (memory->version != (unsigned int)(sizeof(nvmlMemory_v2_t) | (2u << 24))) DONE(NVML_ERROR_INVALID_ARGUMENT);
    fill_memory(d, &memory->total, &memory->reserved, &memory->free, &memory->used);
    DONE(NVML_SUCCESS);
}
#endif

nvmlReturn_t nvmlDeviceGetMemoryInfo(void *handle, nvmlMemory_t *memory) {
    QUERY(handle, K_MEMORY, memory);
    unsigned long long reserved;
    fill_memory(d, &memory->total, &reserved, &memory->free, &memory->used);
    memory->used += reserved;
    DONE(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(void *handle, nvmlUtilization_t *util) {
    QUERY(handle, K_UTIL, util);
    util->gpu = d->util_gpu;
    util->memory = d->util_mem;
    DONE(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetTemperature(void *handle, int sensor, unsigned int *temp) {
    QUERY(handle, K_TEMP, temp);
    if (sensor != 0) DONE(NVML_ERROR_NOT_SUPPORTED);
    *temp = d->temp_c;
    DONE(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetPowerUsage(void *handle, unsigned int *power) {
    QUERY(handle, K_POWER, power);
    *power = d->power_mw;
    DONE(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetClockInfo(void *handle, int type, unsigned int *clock) {
    QUERY(handle, K_CLOCK, clock);
    if (type != 1) DONE(NVML_ERROR_NOT_SUPPORTED); /* NVML_CLOCK_SM only */
    *clock = d->sm_clock;
    DONE(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(void *handle, unsigned long long *energy) {
    QUERY(handle, K_ENERGY, energy);
    *energy = d->energy_mj + d->energy_step_mj * (round_no - 1);
    DONE(NVML_SUCCESS);
}

/* Two calls, as with the driver: a count (INSUFFICIENT_SIZE when *count is too small),
 * then the list. Both ask K_PROCS, so the second call of a pair is not a new round. */
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(void *handle, unsigned int *count,
                                                     nvmlProcessInfo_t *infos) {
    QUERY_OF(handle, K_PROCS, count, infos != NULL);
    unsigned int n = (unsigned int)d->nprocs;
    if (*count < n || !infos) {
        *count = n;
        DONE(n ? NVML_ERROR_INSUFFICIENT_SIZE : NVML_SUCCESS);
    }
    for (unsigned int i = 0; i < n; i++) {
        infos[i].pid = d->procs[i].pid ? d->procs[i].pid : (unsigned int)getpid();
        infos[i].usedGpuMemory = d->procs[i].used;
        infos[i].gpuInstanceId = d->is_mig ? d->mig_index : NO_ID;
        infos[i].computeInstanceId = d->is_mig ? 0 : NO_ID;
    }
    *count = n;
    DONE(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetMigMode(void *handle, unsigned int *current, unsigned int *pending) {
    QUERY(handle, K_MIG_MODE, current);
    if (!pending || d->is_mig) DONE(d->is_mig ? NVML_ERROR_NOT_SUPPORTED : NVML_ERROR_INVALID_ARGUMENT);
    *current = d->mig_mode;
    *pending = d->mig_mode;
    DONE(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(void *handle, unsigned int *count) {
    QUERY(handle, K_MIG_COUNT, count);
    if (d->is_mig) DONE(NVML_ERROR_NOT_SUPPORTED);
    *count = d->mig_max;
    DONE(NVML_SUCCESS);
}

/* As with the driver, an index below the maximum with no MIG device there is NOT_FOUND. */
nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(void *handle, unsigned int index, void **mig) {
    QUERY_OF(handle, K_MIG_HANDLE, mig, index > 0);
    if (d->is_mig || !d->mig_mode) DONE(NVML_ERROR_NOT_SUPPORTED);
    if (index >= d->mig_max) DONE(NVML_ERROR_INVALID_ARGUMENT);
    if (!migs[d->index][index].present) DONE(NVML_ERROR_NOT_FOUND);
    *mig = &migs[d->index][index];
    DONE(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceIsMigDeviceHandle(void *handle, unsigned int *is_mig) {
    pthread_mutex_lock(&lock);
    struct dev *d = device(handle);
    if (!d || !is_mig) DONE(NVML_ERROR_INVALID_ARGUMENT);
    *is_mig = (unsigned int)d->is_mig;
    DONE(NVML_SUCCESS);
}

/*
 * Not NVML: the test's stand-in for cudaMalloc/cudaFree. Adds `bytes` (negative: frees)
 * to the memory used of GPU `gpu` (MIG device `mig`, or the whole GPU when mig < 0) and
 * to the calling process's entry in its process list, which it creates.
 * Returns 0, or -1 for a device that does not exist.
 */
int ranklogStandinAllocate(unsigned int gpu, int mig, long long bytes) {
    pthread_mutex_lock(&lock);
    load();
    if (gpu >= ngpus || mig >= MAX_MIGS || (mig >= 0 && !migs[gpu][mig].present)) DONE(-1);
    struct dev *d = mig >= 0 ? &migs[gpu][mig] : &gpus[gpu];
    struct proc *mine = NULL;
    unsigned int me = (unsigned int)getpid();
    for (int i = 0; i < d->nprocs; i++)
        if (d->procs[i].pid == me || d->procs[i].pid == 0) mine = &d->procs[i];
    if (!mine && d->nprocs < MAX_PROCS) {
        mine = &d->procs[d->nprocs++];
        mine->pid = me;
        mine->used = 0;
    }
    d->mem_used = (unsigned long long)((long long)d->mem_used + bytes);
    if (d->is_mig) d->parent->mem_used = (unsigned long long)((long long)d->parent->mem_used + bytes);
    if (mine && mine->used != NOT_AVAILABLE) mine->used = (unsigned long long)((long long)mine->used + bytes);
    char detail[64];
    snprintf(detail, sizeof detail, "%u %d %lld", gpu, mig, bytes);
    note("allocate", detail);
    DONE(0);
}
