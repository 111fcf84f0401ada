/*
 * lossyfs: a FUSE file system that keeps every write it has not been asked to make durable in memory, and loses
 * it when told that the power went out. PowerLossIT runs each Cairn member on one.
 *
 *   lossyfs BACKING MOUNTPOINT SEED KEEP_PERCENT
 *
 * Every file lives in BACKING. A write (a write(2), or a page the kernel writes back from a shared mapping) goes into
 * a page overlay held here; fsync/fdatasync of a file (msync(MS_SYNC) on a mapping ends in one) writes that file's
 * overlay into BACKING and fdatasyncs it there. Metadata (create, unlink, rename, mkdir, truncate, fallocate) goes to
 * BACKING at once: this file system models lost data, not lost directory entries.
 *
 * SIGUSR1 cuts the power: each page still in an overlay reaches BACKING with probability KEEP_PERCENT/100 (drawn
 * from SEED), as a disk that had written back some dirty pages in no particular order; the rest are lost. So does
 * each page the kernel still held dirty and writes back at the unmount that follows (a dead process's mapping). From
 * then on every other change is refused (EIO), until the mount goes (umount) and this process exits. The
 * test kills the member process first and waits for it, so nothing the member was told is durable is lost by the
 * cut itself; what is lost is what it never synced.
 *
 * Single-threaded (-s): one request at a time, so the overlay needs no lock.
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE
#include <fuse.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#define PAGE 4096
#define BUCKETS 65536

struct page {
    uint64_t index;
    struct page *next;
    char data[PAGE];
};

/* One backing file (by inode) with the writes not yet synced. Shared by every open handle of the file. */
struct node {
    ino_t ino;
    int fd;            /* read-write descriptor on the backing file */
    int opens;
    int orphan;        /* unlinked while open: not in the table any more */
    off_t size;        /* the size the file has with its overlay */
    size_t pages;
    struct page **buckets;
    struct node *next;
};

static int backing;                 /* directory descriptor */
static struct node *nodes;
static volatile sig_atomic_t cut_requested;
static int cut_done;
static uint64_t seed;
static int keep_percent;
static uint64_t dirty_pages;
static uint64_t kept_after_cut;
static uint64_t lost_after_cut;
static struct node *by_fd[65536];   /* an open handle's descriptor -> its node */

static uint64_t next_random(void) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

/* How much of a request of `left` bytes at `at` lies in the page that holds `at`. */
static size_t piece(off_t at, size_t left) {
    size_t room = PAGE - (size_t)(at % PAGE);
    return room < left ? room : left;
}

static const char *rel(const char *path) {
    return path[1] == '\0' ? "." : path + 1;
}

static struct page **slot(struct node *n, uint64_t index) {
    struct page **p = &n->buckets[index % BUCKETS];
    while (*p != NULL && (*p)->index != index) {
        p = &(*p)->next;
    }
    return p;
}

/* Writes one page of the overlay to the backing file, up to the file's size. */
static void write_back(struct node *n, const struct page *p) {
    off_t at = (off_t)p->index * PAGE;
    if (at < n->size) {
        size_t length = piece(at, (size_t)(n->size - at));
        if (pwrite(n->fd, p->data, length, at) != (ssize_t)length) {
            perror("lossyfs: pwrite");
        }
    }
}

static void drop_overlay(struct node *n, int keep) {
    if (n->buckets == NULL) {
        return;
    }
    for (size_t b = 0; b < BUCKETS; b++) {
        struct page *p = n->buckets[b];
        while (p != NULL) {
            struct page *next = p->next;
            if (keep) {
                write_back(n, p);
            }
            free(p);
            dirty_pages--;
            p = next;
        }
        n->buckets[b] = NULL;
    }
    n->pages = 0;
}

static void cut_if_requested(void) {
    if (!cut_requested || cut_done) {
        return;
    }
    cut_done = 1;
    uint64_t kept = 0;
    uint64_t lost = 0;
    for (struct node *n = nodes; n != NULL; n = n->next) {
        if (n->buckets == NULL) {
            continue;
        }
        for (size_t b = 0; b < BUCKETS; b++) {
            struct page **p = &n->buckets[b];
            while (*p != NULL) {
                struct page *page = *p;
                if ((int)(next_random() % 100) < keep_percent) {
                    write_back(n, page);
                    kept++;
                } else {
                    lost++;
                }
                *p = page->next;
                free(page);
                dirty_pages--;
            }
        }
        n->pages = 0;
        fdatasync(n->fd);
    }
    fprintf(stderr, "lossyfs: power cut: %llu unsynced pages written back, %llu lost\n",
        (unsigned long long)kept, (unsigned long long)lost);
}

static void on_cut(int signal) {
    (void)signal;
    cut_requested = 1;
}

/* The node of a backing file, opening one when none is held. */
static struct node *node_of(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return NULL;
    }
    for (struct node *n = nodes; n != NULL; n = n->next) {
        if (n->ino == st.st_ino) {
            return n;
        }
    }
    struct node *n = calloc(1, sizeof(struct node));
    if (n == NULL) {
        return NULL;
    }
    n->ino = st.st_ino;
    n->fd = dup(fd);
    n->size = st.st_size;
    n->next = nodes;
    nodes = n;
    return n;
}

static struct node *find_node(ino_t ino) {
    for (struct node *n = nodes; n != NULL; n = n->next) {
        if (n->ino == ino) {
            return n;
        }
    }
    return NULL;
}

static void unlist(struct node *n) {
    for (struct node **p = &nodes; *p != NULL; p = &(*p)->next) {
        if (*p == n) {
            *p = n->next;
            return;
        }
    }
}

static void free_node(struct node *n) {
    drop_overlay(n, 0);
    free(n->buckets);
    close(n->fd);
    free(n);
}

/* A file whose name went (unlinked, or renamed over): its overlay goes with it once no handle holds it. */
static void forget(struct node *n) {
    if (n == NULL) {
        return;
    }
    unlist(n);
    if (n->opens == 0) {
        free_node(n);
    } else {
        n->orphan = 1;
    }
}

#define REFUSE_AFTER_CUT() do { cut_if_requested(); if (cut_done) return -EIO; } while (0)

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
    cut_if_requested();
    if (fstatat(backing, rel(path), st, AT_SYMLINK_NOFOLLOW) != 0) {
        return -errno;
    }
    struct node *n = S_ISREG(st->st_mode) ? find_node(st->st_ino) : NULL;
    (void)fi;
    if (n != NULL) {
        st->st_size = n->size;
    }
    return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t offset, struct fuse_file_info *fi,
    enum fuse_readdir_flags flags) {
    (void)offset;
    (void)fi;
    (void)flags;
    int fd = openat(backing, rel(path), O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return -errno;
    }
    DIR *dir = fdopendir(fd);
    if (dir == NULL) {
        close(fd);
        return -errno;
    }
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (fill(buf, entry->d_name, NULL, 0, 0) != 0) {
            break;
        }
    }
    closedir(dir);
    return 0;
}

static int fs_mkdir(const char *path, mode_t mode) {
    REFUSE_AFTER_CUT();
    return mkdirat(backing, rel(path), mode) == 0 ? 0 : -errno;
}

static int fs_rmdir(const char *path) {
    REFUSE_AFTER_CUT();
    return unlinkat(backing, rel(path), AT_REMOVEDIR) == 0 ? 0 : -errno;
}

static int fs_unlink(const char *path) {
    REFUSE_AFTER_CUT();
    struct stat st;
    struct node *n = NULL;
    if (fstatat(backing, rel(path), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_nlink == 1) {
        n = find_node(st.st_ino);
    }
    if (unlinkat(backing, rel(path), 0) != 0) {
        return -errno;
    }
    forget(n);
    return 0;
}

static int fs_rename(const char *from, const char *to, unsigned int flags) {
    REFUSE_AFTER_CUT();
    if (flags != 0) {
        return -EINVAL;
    }
    struct stat st;
    struct node *replaced = NULL;
    if (fstatat(backing, rel(to), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1) {
        replaced = find_node(st.st_ino);
    }
    if (renameat(backing, rel(from), backing, rel(to)) != 0) {
        return -errno;
    }
    forget(replaced);
    return 0;
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
    (void)fi;
    REFUSE_AFTER_CUT();
    return fchmodat(backing, rel(path), mode, 0) == 0 ? 0 : -errno;
}

static int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
    (void)fi;
    REFUSE_AFTER_CUT();
    return utimensat(backing, rel(path), tv, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static void resize(struct node *n, off_t size) {
    if (n->buckets != NULL && size < n->size) {
        for (size_t b = 0; b < BUCKETS; b++) {
            struct page **p = &n->buckets[b];
            while (*p != NULL) {
                struct page *page = *p;
                off_t at = (off_t)page->index * PAGE;
                if (at >= size) {
                    *p = page->next;
                    free(page);
                    n->pages--;
                    dirty_pages--;
                    continue;
                }
                if (at + PAGE > size) {
                    memset(page->data + (size - at), 0, PAGE - (size_t)(size - at));
                }
                p = &page->next;
            }
        }
    }
    n->size = size;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
    REFUSE_AFTER_CUT();
    int fd = fi != NULL ? (int)fi->fh : openat(backing, rel(path), O_RDWR);
    if (fd < 0) {
        return -errno;
    }
    int result = ftruncate(fd, size) == 0 ? 0 : -errno;
    if (result == 0) {
        struct node *n = fi != NULL ? by_fd[fd] : node_of(fd);
        if (n != NULL) {
            resize(n, size);
        }
    }
    if (fi == NULL) {
        close(fd);
    }
    return result;
}

static int open_node(int fd, struct fuse_file_info *fi) {
    struct node *n = node_of(fd);
    if (n == NULL || fd >= 65536) {
        close(fd);
        return -ENOMEM;
    }
    n->opens++;
    by_fd[fd] = n;
    fi->fh = (uint64_t)fd;
    return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi) {
    cut_if_requested();
    int flags = fi->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_APPEND);
    flags = (flags & ~O_ACCMODE) | O_RDWR;
    int fd = openat(backing, rel(path), flags);
    if (fd < 0 && errno == EACCES) {
        fd = openat(backing, rel(path), (flags & ~O_ACCMODE) | O_RDONLY);
    }
    if (fd < 0) {
        return -errno;
    }
    int result = open_node(fd, fi);
    if (result == 0 && (fi->flags & O_TRUNC) != 0) {
        if (cut_done) {
            return -EIO;
        }
        if (ftruncate(fd, 0) == 0) {
            resize(node_of(fd), 0);
        }
    }
    return result;
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
    REFUSE_AFTER_CUT();
    int flags = (fi->flags & ~(O_ACCMODE | O_APPEND)) | O_RDWR | O_CREAT;
    int fd = openat(backing, rel(path), flags, mode);
    if (fd < 0) {
        return -errno;
    }
    struct node *n = node_of(fd);
    if (n != NULL && (fi->flags & O_TRUNC) != 0) {
        resize(n, 0);
    }
    return open_node(fd, fi);
}

static int fs_read(const char *path, char *buf, size_t size, off_t offset, struct fuse_file_info *fi) {
    (void)path;
    cut_if_requested();
    struct node *n = by_fd[(int)fi->fh];
    if (offset >= n->size) {
        return 0;
    }
    if ((off_t)size > n->size - offset) {
        size = (size_t)(n->size - offset);
    }
    size_t done = 0;
    while (done < size) {
        off_t at = offset + (off_t)done;
        size_t within = (size_t)(at % PAGE);
        size_t length = piece(at, size - done);
        struct page *page = n->buckets == NULL ? NULL : *slot(n, (uint64_t)at / PAGE);
        if (page != NULL) {
            memcpy(buf + done, page->data + within, length);
        } else {
            ssize_t got = pread(n->fd, buf + done, length, at);
            if (got < 0) {
                return -errno;
            }
            if ((size_t)got < length) {
                memset(buf + done + got, 0, length - (size_t)got);
            }
        }
        done += length;
    }
    return (int)size;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t offset, struct fuse_file_info *fi) {
    (void)path;
    cut_if_requested();
    struct node *n = by_fd[(int)fi->fh];
    if (cut_done) {
        /* The kernel writing back the dead process's dirty pages (at unmount): each had reached the disk before
         * the power went, or not, as the pages in the overlay did. */
        for (size_t done = 0; done < size;) {
            off_t at = offset + (off_t)done;
            size_t length = piece(at, size - done);
            if ((int)(next_random() % 100) < keep_percent) {
                if (pwrite(n->fd, buf + done, length, at) != (ssize_t)length) {
                    perror("lossyfs: pwrite");
                }
                kept_after_cut++;
            } else {
                lost_after_cut++;
            }
            done += length;
        }
        return (int)size;
    }
    if (n->buckets == NULL) {
        n->buckets = calloc(BUCKETS, sizeof(struct page *));
        if (n->buckets == NULL) {
            return -ENOMEM;
        }
    }
    size_t done = 0;
    while (done < size) {
        off_t at = offset + (off_t)done;
        uint64_t index = (uint64_t)at / PAGE;
        size_t within = (size_t)(at % PAGE);
        size_t length = piece(at, size - done);
        struct page **p = slot(n, index);
        if (*p == NULL) {
            struct page *page = malloc(sizeof(struct page));
            if (page == NULL) {
                return done > 0 ? (int)done : -ENOMEM;
            }
            page->index = index;
            page->next = NULL;
            memset(page->data, 0, PAGE);
            off_t start = (off_t)index * PAGE;
            if (start < n->size) {
                ssize_t got = pread(n->fd, page->data, PAGE, start);
                (void)got; /* beyond the backing file's end the page stays zero */
            }
            *p = page;
            n->pages++;
            dirty_pages++;
        }
        memcpy((*p)->data + within, buf + done, length);
        done += length;
    }
    if (offset + (off_t)size > n->size) {
        n->size = offset + (off_t)size;
    }
    return (int)size;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
    (void)path;
    (void)datasync;
    cut_if_requested();
    if (cut_done) {
        return -EIO;
    }
    struct node *n = by_fd[(int)fi->fh];
    struct stat st;
    if (fstat(n->fd, &st) == 0 && st.st_size < n->size && ftruncate(n->fd, n->size) != 0) {
        return -errno;
    }
    drop_overlay(n, 1);
    return fdatasync(n->fd) == 0 ? 0 : -errno;
}

static int fs_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi) {
    (void)datasync;
    (void)fi;
    REFUSE_AFTER_CUT();
    int fd = openat(backing, rel(path), O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return -errno;
    }
    int result = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return result;
}

static int fs_release(const char *path, struct fuse_file_info *fi) {
    (void)path;
    int fd = (int)fi->fh;
    struct node *n = by_fd[fd];
    by_fd[fd] = NULL;
    close(fd);
    if (n != NULL && --n->opens == 0 && n->orphan) {
        free_node(n); /* unlinked while open: its data goes with it */
    }
    return 0;
}

static int fs_fallocate(const char *path, int mode, off_t offset, off_t length, struct fuse_file_info *fi) {
    (void)path;
    REFUSE_AFTER_CUT();
    int fd = (int)fi->fh;
    if (fallocate(fd, mode, offset, length) != 0) {
        return -errno;
    }
    struct node *n = by_fd[fd];
    if (n != NULL && (mode & FALLOC_FL_KEEP_SIZE) == 0 && offset + length > n->size) {
        n->size = offset + length;
    }
    return 0;
}

static int fs_statfs(const char *path, struct statvfs *st) {
    (void)path;
    return fstatvfs(backing, st) == 0 ? 0 : -errno;
}

static int fs_access(const char *path, int mask) {
    return faccessat(backing, rel(path), mask, 0) == 0 ? 0 : -errno;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
    (void)conn;
    cfg->use_ino = 1;
    cfg->attr_timeout = 0;
    cfg->entry_timeout = 0;
    cfg->negative_timeout = 0;
    return NULL;
}

/* Unmounted: after a cut, what the cut kept; otherwise a clean stop, which writes everything back. */
static void fs_destroy(void *data) {
    (void)data;
    cut_if_requested();
    if (cut_done) {
        fprintf(stderr, "lossyfs: after the cut, of the pages the kernel still held, %llu written back, %llu lost\n",
            (unsigned long long)kept_after_cut, (unsigned long long)lost_after_cut);
    }
    for (struct node *n = nodes; n != NULL; n = n->next) {
        if (!cut_done) {
            drop_overlay(n, 1);
            fdatasync(n->fd);
        }
    }
}

static const struct fuse_operations operations = {
    .init = fs_init,
    .destroy = fs_destroy,
    .getattr = fs_getattr,
    .readdir = fs_readdir,
    .mkdir = fs_mkdir,
    .rmdir = fs_rmdir,
    .unlink = fs_unlink,
    .rename = fs_rename,
    .chmod = fs_chmod,
    .utimens = fs_utimens,
    .truncate = fs_truncate,
    .open = fs_open,
    .create = fs_create,
    .read = fs_read,
    .write = fs_write,
    .fsync = fs_fsync,
    .fsyncdir = fs_fsyncdir,
    .release = fs_release,
    .fallocate = fs_fallocate,
    .statfs = fs_statfs,
    .access = fs_access,
};

int main(int argc, char *argv[]) {
    if (argc != 5) {
        fprintf(stderr, "usage: lossyfs BACKING MOUNTPOINT SEED KEEP_PERCENT\n");
        return 2;
    }
    backing = open(argv[1], O_RDONLY | O_DIRECTORY);
    if (backing < 0) {
        perror(argv[1]);
        return 1;
    }
    seed = strtoull(argv[3], NULL, 10) | 1;
    keep_percent = atoi(argv[4]);
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_cut;
    sigaction(SIGUSR1, &action, NULL);
    char *args[] = {argv[0], argv[2], "-f", "-s", "-o", "default_permissions,fsname=lossyfs", NULL};
    return fuse_main(6, args, &operations, NULL);
}
