/* SPDX-License-Identifier: MIT */
/*
 * mock_model - the serial-chip models of the mock USBIP server.
 *
 * A model plays one family of USB serial chips, one file each:
 * model_cdc_acm.c (class devices), model_ftdi.c (FT232BM/R, FT2232C/D,
 * FT2232H, FT4232H, FT232H, FT-X), model_cp210x.c (CP2102, CP2104),
 * model_ch341.c (CH340, CH341) and model_pl2303.c (PL2303 HX, HXN).  It
 * answers the chip's class and vendor control requests the way the part does
 * (requests it does not know, or malformed ones, stall), keeps the chip's
 * registers, decodes them into MockServerLine (the rate the chip really runs
 * at), frames the loopback data on bulk IN as the chip frames it, and reports
 * the far end's modem lines and line events its own way.  It records what the
 * host set (line settings, DTR/RTS, breaks) in the port's MockHistory.
 *
 * No sockets, URBs or timers here: mock_device routes control requests to the
 * model, mock_server moves bulk/interrupt data through these hooks.  Every
 * function runs on the mock server's thread.
 */
#ifndef MOCK_MODEL_H
#define MOCK_MODEL_H

#include <glib.h>

#include "mock_server.h"
#include "usb_desc.h"

/* Serial ports tracked per active configuration. */
#define MOCK_MODEL_MAX_PORTS 8u
/* Undelivered interrupt-IN packets kept per port. */
#define MOCK_MODEL_MAX_NOTES 256u
/* Values kept per history array; the oldest half goes beyond it. */
#define MOCK_MODEL_MAX_HISTORY 8192u

/* Bytes the chip received from the far end (the loopback), oldest first:
 * a ring of `size` bytes. */
typedef struct {
	guint8 *buf;
	gsize size;
	gsize head;
	gsize used;
} MockRing;

void mock_ring_init(MockRing *r, gsize size);
void mock_ring_free(MockRing *r);
void mock_ring_clear(MockRing *r);
gsize mock_ring_space(const MockRing *r);
/* Append n bytes (n <= space). */
void mock_ring_write(MockRing *r, const guint8 *src, gsize n);
/* Remove n bytes (n <= used) into dst. */
void mock_ring_read(MockRing *r, guint8 *dst, gsize n);
/* The byte at offset i from the oldest (i < used). */
guint8 mock_ring_peek(const MockRing *r, gsize i);

/* What the host set, per port interface; kept across USB resets and
 * reconfigurations, forgotten by mock_device_clear_records(). */
typedef struct {
	guint8 intf;
	gboolean line_set; /* line is valid */
	MockServerLine line;
	GArray *lines;  /* guint16: MOCK_SERVER_DTR|RTS (CDC-ACM: raw wValue) */
	GArray *breaks; /* guint16: 0xffff on, 0 off (CDC-ACM: raw wValue) */
} MockHistory;

typedef struct MockPort MockPort;
typedef struct MockModelOps MockModelOps;

/* What a model may look at to recognise its chip. */
typedef struct {
	const struct usb_device_desc *desc;
	const char *product; /* iProduct string; "" when the fixture has none */
	const char *variant; /* "VARIANT" of a "# mock-model: NAME/VARIANT" fixture line, or NULL */
} MockModelDevice;

struct MockPort {
	const MockModelOps *ops;
	/* set by probe, fixed for the active configuration */
	guint8 intf;              /* interface number the port's requests name */
	guint8 index;             /* position among the device's ports (FTDI: channel A = 0) */
	guint8 chip;              /* model-defined chip variant */
	guint8 bulk_in, bulk_out; /* endpoint addresses with the 0x80 IN bit */
	guint16 bulk_in_mps, bulk_out_mps;
	gboolean has_notify;
	guint8 notify_ep;
	guint16 notify_mps;
	/* the far end: its input-line levels (MOCK_SERVER_INPUTS) survive USB
	 * resets, as the wires do */
	guint16 inputs;
	/* chip state, back to power-on values by mock_port_reset() */
	MockRing ring; /* received bytes not yet sent on bulk IN */
	GQueue notes;  /* GBytes*: interrupt-IN packets not yet delivered */
	union {
		guint64 align;
		guint8 bytes[512];
	} priv;            /* the model's registers (its own struct) */
	MockHistory *hist; /* owned by the device */
};

struct MockModelOps {
	const char *name; /* the kernel driver's name */
	/* TRUE when the device is this model's chip (VID:PID, bcdDevice...);
	 * NULL: the model is tried only when no other model matched. */
	gboolean (*match)(const MockModelDevice *dev);
	/* Fill at most max ports from a configuration; returns how many.
	 * Sets the probe fields; mock_port_setup() does the rest. */
	guint (*probe)(const MockModelDevice *dev, const struct usb_config_desc *c, MockPort *ports,
	               guint max);
	/* Power-on registers into priv (zeroed before). */
	void (*reset)(MockPort *p);
	/*
	 * A class or vendor control request to the device.  out/out_len: the
	 * OUT data stage; IN answers go to in[] (at most s->wLength bytes,
	 * *in_len set).  The model picks the port from wIndex.  Returns 0 or
	 * -EPIPE (the chip stalls).
	 */
	int (*control)(MockPort *ports, guint n, const struct usb_setup *s, const guint8 *out,
	               gsize out_len, guint8 *in, gsize *in_len);
	/* The line settings the registers give. */
	void (*line)(const MockPort *p, MockServerLine *out);
	/* Bytes sent by the host reach the far end, which echoes them: the chip
	 * receives them.  Returns how many of len it took (0: hold the rest).
	 * NULL: mock_port_loop_raw(). */
	gsize (*loop_in)(MockPort *p, const guint8 *data, gsize len);
	/* Fill one bulk-IN transfer of at most cap bytes at monotonic time now
	 * (µs).  Returns the length to complete it with, or -1 when the chip
	 * sends nothing yet (*wake: when to ask again, 0 = when data arrives).
	 * NULL: mock_port_frame_raw(). */
	gssize (*frame_in)(MockPort *p, guint8 *dst, gsize cap, gint64 now, gint64 *wake);
	/* The far end sets its lines to bits & MOCK_SERVER_INPUTS and raises
	 * the events in bits & MOCK_SERVER_EVENTS.  Returns 0, -ENOTSUP (the
	 * chip cannot report one of them) or -ENOSPC (nowhere to queue it). */
	int (*inputs)(MockPort *p, guint16 bits);
	/* Append "CHIP key=value..." describing the registers. */
	void (*describe)(const MockPort *p, GString *out);
};

extern const MockModelOps mock_model_cdc_acm;
extern const MockModelOps mock_model_ftdi;
extern const MockModelOps mock_model_cp210x;
extern const MockModelOps mock_model_ch341;
extern const MockModelOps mock_model_pl2303;

/* The model for a device: the one named by dev->variant's fixture line when
 * name is non-NULL (NULL if unknown), else the first whose match() accepts
 * the device, else CDC-ACM (whose probe finds nothing on other devices). */
const MockModelOps *mock_model_select(const MockModelDevice *dev, const char *name);

/* After probe: ring and notes allocated, history attached, reset. */
void mock_port_setup(MockPort *p, const MockModelOps *ops, MockHistory *hist);
/* For probe: p zeroed, then the interface number, its bulk pair and its
 * interrupt-IN endpoint (if any) from one interface descriptor (the vendor
 * drivers' own scan, serial_match_endpoints).  TRUE when the bulk pair is
 * there. */
gboolean mock_port_endpoints(MockPort *p, const struct usb_interface_desc *it);
/* Power-on state: ring and notes emptied, registers reset. */
void mock_port_reset(MockPort *p);
void mock_port_release(MockPort *p);

/* Helpers for the models. */
void mock_port_record_lines(MockPort *p, guint16 value);
void mock_port_record_break(MockPort *p, guint16 value);
/* The host changed line settings: snapshot ops->line into the history. */
void mock_port_line_changed(MockPort *p);
/* Queue an interrupt-IN packet; -ENOSPC when MOCK_MODEL_MAX_NOTES wait. */
int mock_port_queue_note(MockPort *p, const guint8 *data, gsize len);
/* The port whose interface is intf, or NULL. */
MockPort *mock_port_by_intf(MockPort *ports, guint n, guint intf);
gsize mock_port_loop_raw(MockPort *p, const guint8 *data, gsize len);
/* Whole packets of bulk_in_mps (or what fits a smaller transfer) as soon as
 * there is data; -1 when the ring is empty. */
gssize mock_port_frame_raw(MockPort *p, guint8 *dst, gsize cap);

/* Answer at most wLength bytes of src (a device truncates, never stalls). */
gsize mock_model_answer(const struct usb_setup *s, guint8 *in, const void *src, gsize len);

MockHistory *mock_history_new(guint8 intf);
void mock_history_free(MockHistory *h);
void mock_history_clear(MockHistory *h);

#endif /* MOCK_MODEL_H */
