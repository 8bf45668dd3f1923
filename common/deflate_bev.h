/* Raw deflate (RFC 1951, no zlib header) both ways over a bufferevent,
 * through zlib, as SPEC 2.8 says: what is written is compressed and sync
 * flushed at the end of every write; what is read is inflated, never more
 * at once than the reader's high watermark leaves room for, so a small
 * input that inflates to a lot costs no more memory than plain input. A
 * stream that does not inflate is a BEV_EVENT_ERROR. */
#ifndef PG_DEFLATE_BEV_H
#define PG_DEFLATE_BEV_H

struct bufferevent;

/* Over under (taken: freed with the result), compressing at level 1..9;
 * level 0 passes bytes as they are. With hold, what is written waits
 * until bufferevent_flush(bev, EV_WRITE, BEV_FLUSH): then it is compressed
 * (or passed on) in one go, one sync flush (one TLS record below) for
 * every frame of a loop pass. NULL on failure, under untouched. */
struct bufferevent *deflate_bev_new(struct bufferevent *under, int level, int hold);

#endif
