/**
 * Link-layer header types (the LINKTYPE_ values of pcap and pcapng files, as
 * listed at tcpdump.org/linktypes.html). ipvs-sim's datapath takes Ethernet
 * only; the names are for error messages.
 */

export const LINKTYPE_ETHERNET = 1;

const NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'NULL'],
  [1, 'ETHERNET'],
  [6, 'IEEE802_5'],
  [8, 'SLIP'],
  [9, 'PPP'],
  [10, 'FDDI'],
  [50, 'PPP_HDLC'],
  [51, 'PPP_ETHER'],
  [100, 'ATM_RFC1483'],
  [101, 'RAW'],
  [104, 'C_HDLC'],
  [105, 'IEEE802_11'],
  [107, 'FRELAY'],
  [108, 'LOOP'],
  [113, 'LINUX_SLL'],
  [117, 'PFLOG'],
  [119, 'IEEE802_11_PRISM'],
  [127, 'IEEE802_11_RADIOTAP'],
  [163, 'IEEE802_11_AVS'],
  [189, 'USB_LINUX'],
  [192, 'PPI'],
  [195, 'IEEE802_15_4_WITHFCS'],
  [220, 'USB_LINUX_MMAPPED'],
  [227, 'CAN_SOCKETCAN'],
  [228, 'IPV4'],
  [229, 'IPV6'],
  [239, 'NFLOG'],
  [249, 'USBPCAP'],
  [252, 'WIRESHARK_UPPER_PDU'],
  [253, 'NETLINK'],
  [276, 'LINUX_SLL2'],
]);

/** `RAW` for 101, `ETHERNET` for 1, '' when the number is not in the table. */
export function linkTypeName(linkType: number): string {
  return NAMES.get(linkType) ?? '';
}

/** `101 (RAW)`, or just `12345` for a number not in the table. */
export function describeLinkType(linkType: number): string {
  const n = linkTypeName(linkType);
  return n ? `${linkType} (${n})` : String(linkType);
}
