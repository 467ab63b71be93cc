/*
 * darwin-abi-probe.c: prints, as one JSON object, the macOS SDK's values for every
 * public constant, struct size and field offset that daemon/codec/darwin/constants.ts
 * declares, so scripts/check-darwin-abi.ts can compare the two. Builds only on macOS:
 *   cc -Wall -o darwin-abi-probe scripts/darwin-abi-probe.c && ./darwin-abi-probe
 * A constant the SDK does not define is left out of "constants" (each is #ifdef-guarded so
 * the probe still builds); the checker fails on it.
 * Private XNU definitions (rt_msghdr_ext, RTM_GET_EXT, ...) are not in the SDK and are
 * not probed. Keep the lists in step with constants.ts (a unit test checks that).
 */
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/sysctl.h>
#include <net/if.h>
#include <net/if_var.h>
#include <net/if_dl.h>
#include <net/if_types.h>
#include <net/route.h>
#include <netinet/in.h>

static const char *sep = "";
static int sections = 0;

static void emit(const char *name, long long value)
{
	printf("%s\n    \"%s\": %lld", sep, name, value);
	sep = ",";
}

static void section(const char *name)
{
	printf("%s\n  \"%s\": {", sections++ > 0 ? "\n  }," : "", name);
	sep = "";
}

#define CONST(name) emit(#name, (long long)(name))
#define SIZE(type) emit(#type, (long long)sizeof(struct type))
#define OFF(type, field) emit(#type "." #field, (long long)offsetof(struct type, field))

int main(void)
{
	printf("{");
	section("constants");
	/* RTM */
#ifdef RTM_ADD
	CONST(RTM_ADD);
#endif
#ifdef RTM_DELETE
	CONST(RTM_DELETE);
#endif
#ifdef RTM_CHANGE
	CONST(RTM_CHANGE);
#endif
#ifdef RTM_GET
	CONST(RTM_GET);
#endif
#ifdef RTM_LOSING
	CONST(RTM_LOSING);
#endif
#ifdef RTM_REDIRECT
	CONST(RTM_REDIRECT);
#endif
#ifdef RTM_MISS
	CONST(RTM_MISS);
#endif
#ifdef RTM_LOCK
	CONST(RTM_LOCK);
#endif
#ifdef RTM_OLDADD
	CONST(RTM_OLDADD);
#endif
#ifdef RTM_OLDDEL
	CONST(RTM_OLDDEL);
#endif
#ifdef RTM_RESOLVE
	CONST(RTM_RESOLVE);
#endif
#ifdef RTM_NEWADDR
	CONST(RTM_NEWADDR);
#endif
#ifdef RTM_DELADDR
	CONST(RTM_DELADDR);
#endif
#ifdef RTM_IFINFO
	CONST(RTM_IFINFO);
#endif
#ifdef RTM_NEWMADDR
	CONST(RTM_NEWMADDR);
#endif
#ifdef RTM_DELMADDR
	CONST(RTM_DELMADDR);
#endif
#ifdef RTM_IFINFO2
	CONST(RTM_IFINFO2);
#endif
#ifdef RTM_NEWMADDR2
	CONST(RTM_NEWMADDR2);
#endif
#ifdef RTM_GET2
	CONST(RTM_GET2);
#endif
	/* RTF */
#ifdef RTF_UP
	CONST(RTF_UP);
#endif
#ifdef RTF_GATEWAY
	CONST(RTF_GATEWAY);
#endif
#ifdef RTF_HOST
	CONST(RTF_HOST);
#endif
#ifdef RTF_REJECT
	CONST(RTF_REJECT);
#endif
#ifdef RTF_DYNAMIC
	CONST(RTF_DYNAMIC);
#endif
#ifdef RTF_MODIFIED
	CONST(RTF_MODIFIED);
#endif
#ifdef RTF_DONE
	CONST(RTF_DONE);
#endif
#ifdef RTF_DELCLONE
	CONST(RTF_DELCLONE);
#endif
#ifdef RTF_CLONING
	CONST(RTF_CLONING);
#endif
#ifdef RTF_XRESOLVE
	CONST(RTF_XRESOLVE);
#endif
#ifdef RTF_LLINFO
	CONST(RTF_LLINFO);
#endif
#ifdef RTF_STATIC
	CONST(RTF_STATIC);
#endif
#ifdef RTF_BLACKHOLE
	CONST(RTF_BLACKHOLE);
#endif
#ifdef RTF_NOIFREF
	CONST(RTF_NOIFREF);
#endif
#ifdef RTF_PROTO2
	CONST(RTF_PROTO2);
#endif
#ifdef RTF_PROTO1
	CONST(RTF_PROTO1);
#endif
#ifdef RTF_PRCLONING
	CONST(RTF_PRCLONING);
#endif
#ifdef RTF_WASCLONED
	CONST(RTF_WASCLONED);
#endif
#ifdef RTF_PROTO3
	CONST(RTF_PROTO3);
#endif
#ifdef RTF_PINNED
	CONST(RTF_PINNED);
#endif
#ifdef RTF_LOCAL
	CONST(RTF_LOCAL);
#endif
#ifdef RTF_BROADCAST
	CONST(RTF_BROADCAST);
#endif
#ifdef RTF_MULTICAST
	CONST(RTF_MULTICAST);
#endif
#ifdef RTF_IFSCOPE
	CONST(RTF_IFSCOPE);
#endif
#ifdef RTF_CONDEMNED
	CONST(RTF_CONDEMNED);
#endif
#ifdef RTF_IFREF
	CONST(RTF_IFREF);
#endif
#ifdef RTF_PROXY
	CONST(RTF_PROXY);
#endif
#ifdef RTF_ROUTER
	CONST(RTF_ROUTER);
#endif
#ifdef RTF_DEAD
	CONST(RTF_DEAD);
#endif
#ifdef RTF_GLOBAL
	CONST(RTF_GLOBAL);
#endif
	/* RTA */
#ifdef RTA_DST
	CONST(RTA_DST);
#endif
#ifdef RTA_GATEWAY
	CONST(RTA_GATEWAY);
#endif
#ifdef RTA_NETMASK
	CONST(RTA_NETMASK);
#endif
#ifdef RTA_GENMASK
	CONST(RTA_GENMASK);
#endif
#ifdef RTA_IFP
	CONST(RTA_IFP);
#endif
#ifdef RTA_IFA
	CONST(RTA_IFA);
#endif
#ifdef RTA_AUTHOR
	CONST(RTA_AUTHOR);
#endif
#ifdef RTA_BRD
	CONST(RTA_BRD);
#endif
	/* RTV */
#ifdef RTV_MTU
	CONST(RTV_MTU);
#endif
#ifdef RTV_HOPCOUNT
	CONST(RTV_HOPCOUNT);
#endif
#ifdef RTV_EXPIRE
	CONST(RTV_EXPIRE);
#endif
#ifdef RTV_RPIPE
	CONST(RTV_RPIPE);
#endif
#ifdef RTV_SPIPE
	CONST(RTV_SPIPE);
#endif
#ifdef RTV_SSTHRESH
	CONST(RTV_SSTHRESH);
#endif
#ifdef RTV_RTT
	CONST(RTV_RTT);
#endif
#ifdef RTV_RTTVAR
	CONST(RTV_RTTVAR);
#endif
	/* IFF */
#ifdef IFF_UP
	CONST(IFF_UP);
#endif
#ifdef IFF_BROADCAST
	CONST(IFF_BROADCAST);
#endif
#ifdef IFF_DEBUG
	CONST(IFF_DEBUG);
#endif
#ifdef IFF_LOOPBACK
	CONST(IFF_LOOPBACK);
#endif
#ifdef IFF_POINTOPOINT
	CONST(IFF_POINTOPOINT);
#endif
#ifdef IFF_RUNNING
	CONST(IFF_RUNNING);
#endif
#ifdef IFF_NOARP
	CONST(IFF_NOARP);
#endif
#ifdef IFF_PROMISC
	CONST(IFF_PROMISC);
#endif
#ifdef IFF_ALLMULTI
	CONST(IFF_ALLMULTI);
#endif
#ifdef IFF_OACTIVE
	CONST(IFF_OACTIVE);
#endif
#ifdef IFF_SIMPLEX
	CONST(IFF_SIMPLEX);
#endif
#ifdef IFF_LINK0
	CONST(IFF_LINK0);
#endif
#ifdef IFF_LINK1
	CONST(IFF_LINK1);
#endif
#ifdef IFF_LINK2
	CONST(IFF_LINK2);
#endif
#ifdef IFF_MULTICAST
	CONST(IFF_MULTICAST);
#endif
	/* AF */
#ifdef AF_UNSPEC
	CONST(AF_UNSPEC);
#endif
#ifdef AF_INET
	CONST(AF_INET);
#endif
#ifdef AF_ROUTE
	CONST(AF_ROUTE);
#endif
#ifdef AF_LINK
	CONST(AF_LINK);
#endif
#ifdef AF_INET6
	CONST(AF_INET6);
#endif
#ifdef AF_MAX
	CONST(AF_MAX);
#endif
	/* IFT */
#ifdef IFT_OTHER
	CONST(IFT_OTHER);
#endif
#ifdef IFT_ETHER
	CONST(IFT_ETHER);
#endif
#ifdef IFT_PPP
	CONST(IFT_PPP);
#endif
#ifdef IFT_LOOP
	CONST(IFT_LOOP);
#endif
#ifdef IFT_GIF
	CONST(IFT_GIF);
#endif
#ifdef IFT_STF
	CONST(IFT_STF);
#endif
#ifdef IFT_L2VLAN
	CONST(IFT_L2VLAN);
#endif
#ifdef IFT_IEEE8023ADLAG
	CONST(IFT_IEEE8023ADLAG);
#endif
#ifdef IFT_IEEE1394
	CONST(IFT_IEEE1394);
#endif
#ifdef IFT_BRIDGE
	CONST(IFT_BRIDGE);
#endif
#ifdef IFT_CELLULAR
	CONST(IFT_CELLULAR);
#endif
	/* NET_RT */
#ifdef NET_RT_DUMP
	CONST(NET_RT_DUMP);
#endif
#ifdef NET_RT_FLAGS
	CONST(NET_RT_FLAGS);
#endif
#ifdef NET_RT_IFLIST
	CONST(NET_RT_IFLIST);
#endif
#ifdef NET_RT_STAT
	CONST(NET_RT_STAT);
#endif
#ifdef NET_RT_TRASH
	CONST(NET_RT_TRASH);
#endif
#ifdef NET_RT_IFLIST2
	CONST(NET_RT_IFLIST2);
#endif
#ifdef NET_RT_DUMP2
	CONST(NET_RT_DUMP2);
#endif
#ifdef NET_RT_FLAGS_PRIV
	CONST(NET_RT_FLAGS_PRIV);
#endif
#ifdef NET_RT_MAXID
	CONST(NET_RT_MAXID);
#endif
	/* misc */
#ifdef RTM_VERSION
	CONST(RTM_VERSION);
#endif
#ifdef CTL_NET
	CONST(CTL_NET);
#endif
#ifdef PF_ROUTE
	CONST(PF_ROUTE);
#endif
#ifdef RTAX_MAX
	CONST(RTAX_MAX);
#endif

	section("sizeof");
	SIZE(rt_msghdr);
	SIZE(rt_msghdr2);
	SIZE(rt_metrics);
	SIZE(if_msghdr);
	SIZE(if_msghdr2);
	SIZE(if_data);
	SIZE(if_data64);
	SIZE(ifa_msghdr);
	SIZE(ifma_msghdr);
	SIZE(ifma_msghdr2);
	SIZE(sockaddr);
	SIZE(sockaddr_in);
	SIZE(sockaddr_in6);
	SIZE(sockaddr_dl);
	SIZE(sockaddr_storage);

	section("offsetof");
	OFF(rt_msghdr, rtm_msglen);
	OFF(rt_msghdr, rtm_version);
	OFF(rt_msghdr, rtm_type);
	OFF(rt_msghdr, rtm_index);
	OFF(rt_msghdr, rtm_flags);
	OFF(rt_msghdr, rtm_addrs);
	OFF(rt_msghdr, rtm_pid);
	OFF(rt_msghdr, rtm_seq);
	OFF(rt_msghdr, rtm_errno);
	OFF(rt_msghdr, rtm_use);
	OFF(rt_msghdr, rtm_inits);
	OFF(rt_msghdr, rtm_rmx);
	OFF(rt_msghdr2, rtm_refcnt);
	OFF(rt_msghdr2, rtm_parentflags);
	OFF(rt_msghdr2, rtm_reserved);
	OFF(rt_msghdr2, rtm_use);
	OFF(rt_msghdr2, rtm_inits);
	OFF(rt_msghdr2, rtm_rmx);
	OFF(rt_metrics, rmx_locks);
	OFF(rt_metrics, rmx_mtu);
	OFF(rt_metrics, rmx_hopcount);
	OFF(rt_metrics, rmx_expire);
	OFF(rt_metrics, rmx_recvpipe);
	OFF(rt_metrics, rmx_sendpipe);
	OFF(rt_metrics, rmx_ssthresh);
	OFF(rt_metrics, rmx_rtt);
	OFF(rt_metrics, rmx_rttvar);
	OFF(rt_metrics, rmx_pksent);
	OFF(rt_metrics, rmx_filler);
	OFF(if_msghdr, ifm_addrs);
	OFF(if_msghdr, ifm_flags);
	OFF(if_msghdr, ifm_index);
	OFF(if_msghdr, ifm_data);
	OFF(if_msghdr, ifm_data.ifi_type);
	OFF(if_msghdr, ifm_data.ifi_typelen);
	OFF(if_msghdr, ifm_data.ifi_physical);
	OFF(if_msghdr, ifm_data.ifi_addrlen);
	OFF(if_msghdr, ifm_data.ifi_hdrlen);
	OFF(if_msghdr, ifm_data.ifi_recvquota);
	OFF(if_msghdr, ifm_data.ifi_xmitquota);
	OFF(if_msghdr, ifm_data.ifi_mtu);
	OFF(if_msghdr, ifm_data.ifi_metric);
	OFF(if_msghdr, ifm_data.ifi_baudrate);
	OFF(if_msghdr, ifm_data.ifi_ipackets);
	OFF(if_msghdr, ifm_data.ifi_ierrors);
	OFF(if_msghdr, ifm_data.ifi_opackets);
	OFF(if_msghdr, ifm_data.ifi_oerrors);
	OFF(if_msghdr, ifm_data.ifi_collisions);
	OFF(if_msghdr, ifm_data.ifi_ibytes);
	OFF(if_msghdr, ifm_data.ifi_obytes);
	OFF(if_msghdr, ifm_data.ifi_imcasts);
	OFF(if_msghdr, ifm_data.ifi_omcasts);
	OFF(if_msghdr, ifm_data.ifi_iqdrops);
	OFF(if_msghdr, ifm_data.ifi_noproto);
	OFF(if_msghdr, ifm_data.ifi_recvtiming);
	OFF(if_msghdr, ifm_data.ifi_xmittiming);
	OFF(if_msghdr, ifm_data.ifi_lastchange);
	OFF(if_msghdr, ifm_data.ifi_hwassist);
	OFF(if_msghdr2, ifm_addrs);
	OFF(if_msghdr2, ifm_flags);
	OFF(if_msghdr2, ifm_index);
	OFF(if_msghdr2, ifm_snd_len);
	OFF(if_msghdr2, ifm_snd_maxlen);
	OFF(if_msghdr2, ifm_snd_drops);
	OFF(if_msghdr2, ifm_timer);
	OFF(if_msghdr2, ifm_data);
	OFF(if_msghdr2, ifm_data.ifi_type);
	OFF(if_msghdr2, ifm_data.ifi_mtu);
	OFF(if_msghdr2, ifm_data.ifi_metric);
	OFF(if_msghdr2, ifm_data.ifi_baudrate);
	OFF(if_msghdr2, ifm_data.ifi_ipackets);
	OFF(if_msghdr2, ifm_data.ifi_ierrors);
	OFF(if_msghdr2, ifm_data.ifi_opackets);
	OFF(if_msghdr2, ifm_data.ifi_oerrors);
	OFF(if_msghdr2, ifm_data.ifi_collisions);
	OFF(if_msghdr2, ifm_data.ifi_ibytes);
	OFF(if_msghdr2, ifm_data.ifi_obytes);
	OFF(if_msghdr2, ifm_data.ifi_imcasts);
	OFF(if_msghdr2, ifm_data.ifi_omcasts);
	OFF(if_msghdr2, ifm_data.ifi_iqdrops);
	OFF(if_msghdr2, ifm_data.ifi_noproto);
	OFF(if_msghdr2, ifm_data.ifi_recvtiming);
	OFF(if_msghdr2, ifm_data.ifi_xmittiming);
	OFF(if_msghdr2, ifm_data.ifi_lastchange);
	OFF(ifa_msghdr, ifam_addrs);
	OFF(ifa_msghdr, ifam_flags);
	OFF(ifa_msghdr, ifam_index);
	OFF(ifa_msghdr, ifam_metric);
	OFF(ifma_msghdr, ifmam_addrs);
	OFF(ifma_msghdr, ifmam_flags);
	OFF(ifma_msghdr, ifmam_index);
	OFF(ifma_msghdr2, ifmam_addrs);
	OFF(ifma_msghdr2, ifmam_flags);
	OFF(ifma_msghdr2, ifmam_index);
	OFF(ifma_msghdr2, ifmam_refcount);
	OFF(sockaddr_in, sin_port);
	OFF(sockaddr_in, sin_addr);
	OFF(sockaddr_in6, sin6_port);
	OFF(sockaddr_in6, sin6_flowinfo);
	OFF(sockaddr_in6, sin6_addr);
	OFF(sockaddr_in6, sin6_scope_id);
	OFF(sockaddr_dl, sdl_index);
	OFF(sockaddr_dl, sdl_type);
	OFF(sockaddr_dl, sdl_nlen);
	OFF(sockaddr_dl, sdl_alen);
	OFF(sockaddr_dl, sdl_slen);
	OFF(sockaddr_dl, sdl_data);
	printf("\n  }\n}\n");
	return 0;
}
