/** The capture layer: pcap / pcapng streaming readers and writers. Depends on nothing else in ipvs-sim. */
export * from './arena.js';
export * from './errors.js';
export * from './linktype.js';
export * from './reader.js';
export * from './timestamp.js';
export * from './writer.js';
