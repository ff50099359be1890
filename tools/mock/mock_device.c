/* SPDX-License-Identifier: MIT */
/*
 * mock_device - device model of the mock USBIP server (see mock_device.h).
 */
#define G_LOG_DOMAIN "usbip-mock"

#include "mock_device.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lsusb_parse.h"

struct _MockDevice {
	char *busid;
	guint32 busnum;
	guint32 devnum;
	struct lsusb_device *lsusb; /* owns the descriptor bytes */
	struct usb_device_desc desc;
	guint num_configs;
	struct usb_config_desc *config[LSUSB_MAX_CONFIGS]; /* borrow lsusb bytes */
	MockModelDevice info;      /* borrows desc, lsusb strings and variant */
	char *variant;             /* of a "# mock-model: NAME/VARIANT" line */
	const MockModelOps *model; /* NULL: no serial ports */
	GPtrArray *histories;      /* MockHistory*, one per port interface seen */

	/* state that a Linux server loses on reset */
	gint active; /* index into config[], -1 when unconfigured */
	guint8 cur_alt[256];
	guint n_ports;
	MockPort ports[MOCK_MODEL_MAX_PORTS];

	GArray *records; /* MockServerRequest */
};

static MockHistory *history_for(MockDevice *d, guint8 intf)
{
	MockHistory *h;

	for (guint i = 0; i < d->histories->len; i++) {
		h = g_ptr_array_index(d->histories, i);
		if (h->intf == intf)
			return h;
	}
	h = mock_history_new(intf);
	g_ptr_array_add(d->histories, h);
	return h;
}

static void release_ports(MockDevice *d)
{
	for (guint i = 0; i < d->n_ports; i++)
		mock_port_release(&d->ports[i]);
	memset(d->ports, 0, sizeof(d->ports));
	d->n_ports = 0;
}

static void set_active(MockDevice *d, gint index)
{
	release_ports(d);
	d->active = index;
	memset(d->cur_alt, 0, sizeof(d->cur_alt));
	if (index < 0 || !d->model)
		return;
	d->n_ports = d->model->probe(&d->info, d->config[index], d->ports, MOCK_MODEL_MAX_PORTS);
	for (guint i = 0; i < d->n_ports; i++)
		mock_port_setup(&d->ports[i], d->model, history_for(d, d->ports[i].intf));
}

void mock_device_reset(MockDevice *d)
{
	/* A Linux host keeps the device configured with its first
	 * configuration when it is bound to usbip-host. */
	set_active(d, d->num_configs > 0 ? 0 : -1);
}

/* A "# mock-model: NAME[/VARIANT]" line before the lsusb text: the model
 * NAME (and *variant) to play the device; NULL when there is none. */
static char *model_override(const char *text, char **variant)
{
	static const char key[] = "# mock-model:";
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	*variant = NULL;
	for (guint i = 0; lines[i]; i++) {
		char *l = g_strstrip(lines[i]);
		char *slash;
		if (g_str_has_prefix(l, "Bus "))
			break;
		if (!g_str_has_prefix(l, key))
			continue;
		l = g_strstrip(l + strlen(key));
		slash = strchr(l, '/');
		if (slash) {
			*slash = '\0';
			*variant = g_strdup(g_strstrip(slash + 1));
		}
		return g_strdup(g_strstrip(l));
	}
	return NULL;
}

/* busid "B-D[.P...]" -> busnum B, devnum D (0 when absent). */
static void parse_busid(const char *busid, guint32 *busnum, guint32 *devnum)
{
	unsigned b = 0, dv = 0;

	if (sscanf(busid, "%u-%u", &b, &dv) != 2)
		b = dv = 0;
	*busnum = b;
	*devnum = dv;
}

MockDevice *mock_device_load(const char *path, GError **error)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	unsigned err_line = 0;
	g_autofree char *model_name = NULL;
	const char *product;
	int rc;

	if (!g_file_get_contents(path, &text, &len, error))
		return NULL;

	g_autoptr(MockDevice) d = g_new0(MockDevice, 1);
	g_autofree char *base = g_path_get_basename(path);
	if (g_str_has_suffix(base, ".lsusb"))
		base[strlen(base) - strlen(".lsusb")] = '\0';
	d->busid = g_steal_pointer(&base);
	d->records = g_array_new(FALSE, TRUE, sizeof(MockServerRequest));
	d->histories = g_ptr_array_new_with_free_func((GDestroyNotify)mock_history_free);
	if (strlen(d->busid) == 0 || strlen(d->busid) >= USBIP_BUSID_SIZE) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_FIXTURE,
		            "%s: busid must be 1..%u bytes", path, USBIP_BUSID_SIZE - 1);
		return NULL;
	}

	d->lsusb = g_new0(struct lsusb_device, 1);
	rc = lsusb_parse(text, len, d->lsusb, &err_line);
	if (rc < 0) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_FIXTURE,
		            "%s:%u: not parseable lsusb -v output: %s", path, err_line,
		            g_strerror(-rc));
		return NULL;
	}
	rc = (int)usb_desc_parse_device(&d->desc, d->lsusb->device_desc,
	                                sizeof(d->lsusb->device_desc));
	if (rc < 0) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_FIXTURE,
		            "%s: bad device descriptor: %s", path, g_strerror(-rc));
		return NULL;
	}
	d->num_configs = MIN(d->lsusb->num_configs, LSUSB_MAX_CONFIGS);
	for (guint i = 0; i < d->num_configs; i++) {
		d->config[i] = g_new0(struct usb_config_desc, 1);
		rc = (int)usb_desc_parse_config(d->config[i], d->lsusb->config[i].bytes,
		                                d->lsusb->config[i].len);
		if (rc < 0) {
			g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_FIXTURE,
			            "%s: bad configuration %u: %s", path, i, g_strerror(-rc));
			return NULL;
		}
	}
	parse_busid(d->busid, &d->busnum, &d->devnum);
	if (d->busnum == 0 && d->devnum == 0) {
		d->busnum = d->lsusb->busnum;
		d->devnum = d->lsusb->devnum;
	}
	model_name = model_override(text, &d->variant);
	product = lsusb_parse_string(d->lsusb, d->desc.iProduct);
	d->info.desc = &d->desc;
	d->info.product = product ? product : "";
	d->info.variant = d->variant;
	d->model = mock_model_select(&d->info, model_name);
	if (model_name && !d->model) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_FIXTURE,
		            "%s: unknown model \"%s\" in its mock-model line", path, model_name);
		return NULL;
	}
	mock_device_reset(d);
	return g_steal_pointer(&d);
}

void mock_device_free(MockDevice *d)
{
	if (!d)
		return;
	release_ports(d);
	if (d->histories)
		g_ptr_array_unref(d->histories);
	g_free(d->variant);
	for (guint i = 0; i < LSUSB_MAX_CONFIGS; i++)
		g_free(d->config[i]);
	g_free(d->lsusb);
	g_free(d->busid);
	if (d->records)
		g_array_unref(d->records);
	g_free(d);
}

const char *mock_device_get_busid(const MockDevice *d)
{
	return d->busid;
}

void mock_device_set_busid(MockDevice *d, const char *busid)
{
	guint32 b, dv;

	g_free(d->busid);
	d->busid = g_strdup(busid);
	parse_busid(busid, &b, &dv);
	if (b || dv) {
		d->busnum = b;
		d->devnum = dv;
	}
}

guint32 mock_device_get_devid(const MockDevice *d)
{
	return d->busnum << 16 | (d->devnum & 0xffff);
}

guint16 mock_device_get_vid(const MockDevice *d)
{
	return d->desc.idVendor;
}

guint16 mock_device_get_pid(const MockDevice *d)
{
	return d->desc.idProduct;
}

static guint32 device_speed(const MockDevice *d)
{
	if (d->lsusb->speed)
		return d->lsusb->speed;
	/* kernel enum usb_device_speed: 2 full, 3 high, 5 super */
	if (d->desc.bcdUSB >= 0x0300)
		return 5;
	if (d->desc.bcdUSB >= 0x0200)
		return 3;
	return 2;
}

guint mock_device_fill_record(const MockDevice *d, struct usbip_device *rec,
                              struct usbip_intf *intf, guint max)
{
	const struct usb_config_desc *c = d->active >= 0 ? d->config[d->active] : NULL;
	guint n = 0;

	memset(rec, 0, sizeof(*rec));
	g_snprintf(rec->path, sizeof(rec->path), "/sys/devices/platform/usbip-mock/usb%u/%s",
	           d->busnum, d->busid);
	g_strlcpy(rec->busid, d->busid, sizeof(rec->busid));
	rec->busnum = d->busnum;
	rec->devnum = d->devnum;
	rec->speed = device_speed(d);
	rec->idVendor = d->desc.idVendor;
	rec->idProduct = d->desc.idProduct;
	rec->bcdDevice = d->desc.bcdDevice;
	rec->bDeviceClass = d->desc.bDeviceClass;
	rec->bDeviceSubClass = d->desc.bDeviceSubClass;
	rec->bDeviceProtocol = d->desc.bDeviceProtocol;
	rec->bNumConfigurations = d->desc.bNumConfigurations;
	if (!c)
		return 0;
	rec->bConfigurationValue = c->bConfigurationValue;
	/* usbipd lists one record per interface (its current setting, alt 0
	 * after reset); bNumInterfaces must match the records that follow. */
	for (guint i = 0; i < c->num_interfaces && n < max; i++) {
		const struct usb_interface_desc *it = &c->intf[i];
		if (it->bAlternateSetting != 0)
			continue;
		intf[n].bInterfaceClass = it->bInterfaceClass;
		intf[n].bInterfaceSubClass = it->bInterfaceSubClass;
		intf[n].bInterfaceProtocol = it->bInterfaceProtocol;
		n++;
	}
	rec->bNumInterfaces = (guint8)n;
	return n;
}

gboolean mock_device_find_ep(const MockDevice *d, guint8 addr, MockEpInfo *info)
{
	const struct usb_config_desc *c;

	if (d->active < 0)
		return FALSE;
	c = d->config[d->active];
	for (guint i = 0; i < c->num_interfaces; i++) {
		const struct usb_interface_desc *it = &c->intf[i];
		if (it->bAlternateSetting != d->cur_alt[it->bInterfaceNumber])
			continue;
		for (guint e = 0; e < it->num_endpoints; e++) {
			const struct usb_endpoint_desc *ep = &it->ep[e];
			if (ep->bEndpointAddress != addr)
				continue;
			info->addr = addr;
			info->type = usb_desc_ep_type(ep);
			info->mps = usb_desc_ep_max_packet(ep);
			info->interval = ep->bInterval;
			info->role = MOCK_EP_OTHER;
			info->port = -1;
			for (guint f = 0; f < d->n_ports; f++) {
				const MockPort *p = &d->ports[f];
				MockEpRole role = MOCK_EP_OTHER;
				if (addr == p->bulk_out)
					role = MOCK_EP_LOOP_OUT;
				else if (addr == p->bulk_in)
					role = MOCK_EP_LOOP_IN;
				else if (p->has_notify && addr == p->notify_ep)
					role = MOCK_EP_NOTIFY;
				if (role != MOCK_EP_OTHER) {
					info->role = role;
					info->port = (gint)f;
					break;
				}
			}
			return TRUE;
		}
	}
	return FALSE;
}

const MockModelOps *mock_device_get_model(const MockDevice *d)
{
	return d->model;
}

guint mock_device_get_n_ports(const MockDevice *d)
{
	return d->n_ports;
}

MockPort *mock_device_get_port(MockDevice *d, guint i)
{
	return i < d->n_ports ? &d->ports[i] : NULL;
}

gint mock_device_find_port(const MockDevice *d, gint intf)
{
	for (guint i = 0; i < d->n_ports; i++)
		if (intf < 0 || d->ports[i].intf == intf)
			return (gint)i;
	return -1;
}

const MockHistory *mock_device_get_history(const MockDevice *d, gint intf)
{
	if (intf < 0 && d->n_ports > 0)
		intf = d->ports[0].intf;
	for (guint i = 0; i < d->histories->len; i++) {
		const MockHistory *h = g_ptr_array_index(d->histories, i);
		if (intf < 0 || h->intf == intf)
			return h;
	}
	return NULL;
}

void mock_device_record(MockDevice *d, const struct usb_setup *s, int status, const guint8 *data,
                        gsize len)
{
	MockServerRequest r = {
	    .bmRequestType = s->bmRequestType,
	    .bRequest = s->bRequest,
	    .wValue = s->wValue,
	    .wIndex = s->wIndex,
	    .wLength = s->wLength,
	    .status = status,
	};

	r.data_len = (guint)MIN(len, sizeof(r.data));
	if (r.data_len)
		memcpy(r.data, data, r.data_len);
	if (d->records->len >= MOCK_SERVER_MAX_RECORDS)
		g_array_remove_range(d->records, 0, MOCK_SERVER_MAX_RECORDS / 2);
	g_array_append_val(d->records, r);
}

const GArray *mock_device_get_records(const MockDevice *d)
{
	return d->records;
}

void mock_device_clear_records(MockDevice *d)
{
	g_array_set_size(d->records, 0);
	for (guint i = 0; i < d->histories->len; i++)
		mock_history_clear(g_ptr_array_index(d->histories, i));
}

/* Copy at most wLength bytes: a device answers GET_DESCRIPTOR with any
 * wLength by truncating, never by stalling. */
static gsize answer(guint8 *in, const struct usb_setup *s, const void *src, gsize len)
{
	gsize n = MIN(len, (gsize)s->wLength);

	memcpy(in, src, n);
	return n;
}

static int get_descriptor(MockDevice *d, const struct usb_setup *s, guint8 *in, gsize *in_len)
{
	guint8 type = s->wValue >> 8, index = s->wValue & 0xff;
	guint8 buf[256];
	ssize_t n;

	switch (type) {
	case USB_DT_DEVICE:
		*in_len = answer(in, s, d->lsusb->device_desc, sizeof(d->lsusb->device_desc));
		return 0;
	case USB_DT_CONFIG:
		if (index >= d->num_configs)
			return -EPIPE;
		*in_len = answer(in, s, d->lsusb->config[index].bytes, d->lsusb->config[index].len);
		return 0;
	case USB_DT_STRING:
		if (index == 0) {
			/* LANGID table: US English only */
			static const guint8 langids[4] = {4, USB_DT_STRING, 0x09, 0x04};
			*in_len = answer(in, s, langids, sizeof(langids));
			return 0;
		} else {
			const char *text = lsusb_parse_string(d->lsusb, index);
			if (!text)
				return -EPIPE;
			n = usb_desc_string_from_utf8(text, buf, sizeof(buf));
			if (n < 0)
				return -EPIPE;
			*in_len = answer(in, s, buf, (gsize)n);
			return 0;
		}
	default:
		/* no device qualifier, BOS, ...: full/high speed devices without
		 * them stall, and so do we */
		return -EPIPE;
	}
}

static const struct usb_interface_desc *active_intf(const MockDevice *d, guint8 num, guint8 alt)
{
	if (d->active < 0)
		return NULL;
	return usb_desc_find_interface(d->config[d->active], num, alt);
}

static int standard_request(MockDevice *d, const struct usb_setup *s, const guint8 *out,
                            gsize out_len, guint8 *in, gsize *in_len, guint *fx, guint8 *clear_ep)
{
	gboolean dir_in = (s->bmRequestType & USB_DIR_IN) != 0;
	guint recip = s->bmRequestType & 0x1f;

	switch (s->bRequest) {
	case USB_REQ_GET_DESCRIPTOR:
		if (!dir_in)
			return -EPIPE;
		return get_descriptor(d, s, in, in_len);
	case USB_REQ_GET_STATUS: {
		static const guint8 status[2] = {0, 0};
		if (!dir_in)
			return -EPIPE;
		*in_len = answer(in, s, status, sizeof(status));
		return 0;
	}
	case USB_REQ_GET_CONFIGURATION: {
		guint8 v = d->active >= 0 ? d->config[d->active]->bConfigurationValue : 0;
		if (!dir_in)
			return -EPIPE;
		*in_len = answer(in, s, &v, 1);
		return 0;
	}
	case USB_REQ_SET_CONFIGURATION: {
		guint8 v = s->wValue & 0xff;
		if (dir_in)
			return -EPIPE;
		if (v == 0) {
			set_active(d, -1);
			*fx |= MOCK_DEVICE_FX_RECONFIGURED;
			return 0;
		}
		for (guint i = 0; i < d->num_configs; i++) {
			if (d->config[i]->bConfigurationValue == v) {
				set_active(d, (gint)i);
				*fx |= MOCK_DEVICE_FX_RECONFIGURED;
				return 0;
			}
		}
		return -EPIPE;
	}
	case USB_REQ_GET_INTERFACE: {
		guint8 num = s->wIndex & 0xff;
		if (!dir_in || recip != 1 || !active_intf(d, num, 0))
			return -EPIPE;
		*in_len = answer(in, s, &d->cur_alt[num], 1);
		return 0;
	}
	case USB_REQ_SET_INTERFACE: {
		guint8 num = s->wIndex & 0xff, alt = s->wValue & 0xff;
		if (dir_in || recip != 1 || !active_intf(d, num, alt))
			return -EPIPE;
		d->cur_alt[num] = alt;
		*fx |= MOCK_DEVICE_FX_ALTSETTING;
		return 0;
	}
	case USB_REQ_CLEAR_FEATURE:
		if (dir_in)
			return -EPIPE;
		if (recip == 2 && s->wValue == 0) { /* ENDPOINT_HALT */
			MockEpInfo info;
			guint8 ep = s->wIndex & 0xff;
			if ((ep & 0x7f) != 0 && !mock_device_find_ep(d, ep, &info))
				return -EPIPE;
			*fx |= MOCK_DEVICE_FX_CLEAR_HALT;
			*clear_ep = ep;
		}
		return 0;
	default:
		(void)out;
		(void)out_len;
		return -EPIPE;
	}
}

int mock_device_control(MockDevice *d, const struct usb_setup *s, const guint8 *out, gsize out_len,
                        guint8 *in, gsize *in_len, guint *fx, guint8 *clear_ep)
{
	int rc;

	*in_len = 0;
	*fx = 0;
	switch (s->bmRequestType & 0x60) {
	case 0x00:
		rc = standard_request(d, s, out, out_len, in, in_len, fx, clear_ep);
		break;
	case 0x20: /* class */
	case 0x40: /* vendor */
		rc = d->n_ports
		         ? d->model->control(d->ports, d->n_ports, s, out, out_len, in, in_len)
		         : -EPIPE;
		break;
	default: /* reserved type */
		rc = -EPIPE;
		break;
	}
	if (rc < 0)
		*in_len = 0;
	if (s->bmRequestType & USB_DIR_IN)
		mock_device_record(d, s, rc, in, *in_len);
	else
		mock_device_record(d, s, rc, out, out_len);
	return rc;
}
