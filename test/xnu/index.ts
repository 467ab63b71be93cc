/**
 * @module test/xnu
 * A faithful in-process model of the macOS (XNU) routing table and PF_ROUTE sockets,
 * for the daemon's macOS tests. Start with `createMacScenario()` and `createXnuBinding()`.
 */
export * from './constants.js';
export { XnuKernel, describeSockaddr, formatAddress, maskFromSockaddr } from './kernel.js';
export type { XnuInterface, XnuIfAddr, XnuRoute, RouteSnapshot, InterfaceSpec, XnuKernelOptions, Family } from './kernel.js';
export { XnuRouteSocket, systemError } from './socket.js';
export type { XnuSocketOptions } from './socket.js';
export { createXnuBinding } from './binding.js';
export type { XnuBinding, XnuBindingOptions } from './binding.js';
export { createMacScenario, linkGateway, embedScope, EN0_MAC, CONFIGD_PID, EN0_SERVICE, EN0_LEASE } from './scenario.js';
export { DynamicStore, StoreSession, SC_STATUS, scError, plistEqual } from './dynamic-store.js';
export type { StoreSessionOptions, StoreLogLine, ConfigdPlugin, ScStatusName } from './dynamic-store.js';
export { XnuIPMonitor, RANK, rankMake, rankAssertion, STATE_GLOBAL_IPV4, STATE_GLOBAL_IPV6, STATE_GLOBAL_DNS, SETUP_GLOBAL_IPV4 } from './ipmonitor.js';
export type { IPMonitorRoute, IPMonitorWrite, IPMonitorLogLine } from './ipmonitor.js';
export { XnuIPConfiguration, XnuPreferencesMonitor } from './ipconfiguration.js';
export type { Lease, IPConfigurationOptions, Ipv6Config } from './ipconfiguration.js';
export type { MacScenario, MacScenarioOptions, TunnelOptions } from './scenario.js';
export { flagLetters, netname, netstatRows } from './netstat.js';
export type { NetstatRow } from './netstat.js';
export * from './wire.js';
export { tryWrite, received, advanceIndexTo } from './testing.js';
export type { Received } from './testing.js';
export { addRequest, deleteRequest, getRequest, changeRequest } from './requests.js';
export type { RequestOptions } from './requests.js';
export type { PlistValue, DynamicStoreSession, DynamicStoreOptions } from '../../native/index.js';
