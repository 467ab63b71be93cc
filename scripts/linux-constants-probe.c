/*
 * linux-constants-probe.c: prints, as JSON, the rtnetlink constants, struct sizes and
 * field offsets tunroute's Linux codec uses, as the C compiler sees them in the UAPI
 * headers. scripts/gen-linux-constants.ts compiles and runs it and writes
 * daemon/codec/linux/constants.ts from the output.
 *
 * Only names that have existed for years are listed, so the probe builds against old
 * distribution headers too; adding a brand-new constant here would break that.
 *
 * Output: {"tables":[{"name","header","doc","entries":[[C name, value, header if not the table's], ...]}],
 *          "layouts":[{"name","header","size","fields":[[field, offset, size], ...]}]}
 */
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
/* glibc's <net/if.h> first: <linux/libc-compat.h> then suppresses the clashing IFF_* enum. */
#include <net/if.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/fib_rules.h>

static int first_table = 1;
static int first_entry;

static void table(const char *name, const char *header, const char *doc) {
  printf("%s\n  {\"name\": \"%s\", \"header\": \"%s\", \"doc\": \"%s\", \"entries\": [", first_table ? "" : "]},", name, header, doc);
  first_table = 0;
  first_entry = 1;
}

static void entry(const char *name, long long value, const char *header) {
  printf("%s\n    [\"%s\", %lld", first_entry ? "" : ",", name, value);
  if (header != NULL) printf(", \"%s\"", header);
  printf("]");
  first_entry = 0;
}

#define K(name) entry(#name, (long long)(name), NULL)
/* For the odd entry defined in another header than the rest of its table. */
#define KH(name, header) entry(#name, (long long)(name), header)

static int first_layout = 1;

static void layout(const char *name, const char *header, size_t size) {
  printf("%s\n  {\"name\": \"%s\", \"header\": \"%s\", \"size\": %zu, \"fields\": [", first_layout ? "" : "]},", name, header, size);
  first_layout = 0;
  first_entry = 1;
}

static void field(const char *name, size_t offset, size_t size) {
  printf("%s\n    [\"%s\", %zu, %zu]", first_entry ? "" : ",", name, offset, size);
  first_entry = 0;
}

#define F(type, member) field(#member, offsetof(type, member), sizeof(((type *)0)->member))

int main(void) {
  printf("{\"tables\": [");

  table("NETLINK", "linux/netlink.h", "Netlink protocol numbers (socket(AF_NETLINK, SOCK_RAW, protocol)).");
  K(NETLINK_ROUTE);

  table("AF", "sys/socket.h", "Address families (rtm_family, ifa_family, ifi_family, fib_rule_hdr.family).");
  K(AF_UNSPEC); K(AF_INET); K(AF_INET6); K(AF_NETLINK);

  table("ALIGN", "linux/netlink.h", "Alignment of netlink messages (NLMSG_ALIGN) and of attributes (RTA_ALIGN, NLA_ALIGN).");
  K(NLMSG_ALIGNTO); KH(RTA_ALIGNTO, "linux/rtnetlink.h"); K(NLA_ALIGNTO); K(NLMSG_HDRLEN); K(NLA_HDRLEN);

  table("NLMSG", "linux/netlink.h", "Control message types (nlmsg_type below NLMSG_MIN_TYPE).");
  K(NLMSG_NOOP); K(NLMSG_ERROR); K(NLMSG_DONE); K(NLMSG_OVERRUN); K(NLMSG_MIN_TYPE);

  table("NLM_F", "linux/netlink.h",
        "nlmsg_flags. Bits 0x100-0x800 mean different things for GET requests (ROOT, MATCH, ATOMIC), "
        "NEW requests (REPLACE, EXCL, CREATE, APPEND), DEL requests (NONREC) and NLMSG_ERROR (CAPPED, ACK_TLVS).");
  K(NLM_F_REQUEST); K(NLM_F_MULTI); K(NLM_F_ACK); K(NLM_F_ECHO); K(NLM_F_DUMP_INTR); K(NLM_F_DUMP_FILTERED);
  K(NLM_F_ROOT); K(NLM_F_MATCH); K(NLM_F_ATOMIC); K(NLM_F_DUMP);
  K(NLM_F_REPLACE); K(NLM_F_EXCL); K(NLM_F_CREATE); K(NLM_F_APPEND);
  K(NLM_F_NONREC);
  K(NLM_F_CAPPED); K(NLM_F_ACK_TLVS);

  table("NLMSGERR_ATTR", "linux/netlink.h", "Extended ack attributes after an NLMSG_ERROR payload when NLM_F_ACK_TLVS is set.");
  K(NLMSGERR_ATTR_UNUSED); K(NLMSGERR_ATTR_MSG); K(NLMSGERR_ATTR_OFFS);

  table("NLA_F", "linux/netlink.h", "Bits of nla_type that are flags, not part of the attribute type.");
  K(NLA_F_NESTED); K(NLA_F_NET_BYTEORDER);

  table("RTM", "linux/rtnetlink.h", "rtnetlink message types (nlmsg_type).");
  K(RTM_NEWLINK); K(RTM_DELLINK); K(RTM_GETLINK); K(RTM_SETLINK);
  K(RTM_NEWADDR); K(RTM_DELADDR); K(RTM_GETADDR);
  K(RTM_NEWROUTE); K(RTM_DELROUTE); K(RTM_GETROUTE);
  K(RTM_NEWRULE); K(RTM_DELRULE); K(RTM_GETRULE);

  table("RTA", "linux/rtnetlink.h", "Route attributes (rtattr.rta_type after struct rtmsg).");
  K(RTA_UNSPEC); K(RTA_DST); K(RTA_SRC); K(RTA_IIF); K(RTA_OIF); K(RTA_GATEWAY); K(RTA_PRIORITY);
  K(RTA_PREFSRC); K(RTA_METRICS); K(RTA_MULTIPATH); K(RTA_FLOW); K(RTA_CACHEINFO); K(RTA_TABLE);
  K(RTA_MARK); K(RTA_VIA); K(RTA_PREF); K(RTA_ENCAP_TYPE); K(RTA_ENCAP); K(RTA_EXPIRES); K(RTA_PAD); K(RTA_UID);
  K(RTA_NH_ID);

  table("RTNH_F", "linux/rtnetlink.h", "Next-hop flags (rtm_flags' low byte, rtnexthop.rtnh_flags).");
  K(RTNH_F_DEAD); K(RTNH_F_PERVASIVE); K(RTNH_F_ONLINK); K(RTNH_F_OFFLOAD); K(RTNH_F_LINKDOWN); K(RTNH_F_UNRESOLVED);
  K(RTNH_F_TRAP);

  table("RTAX", "linux/rtnetlink.h", "Route metrics, nested inside RTA_METRICS (u32 each, RTAX_CC_ALGO is a string).");
  K(RTAX_UNSPEC); K(RTAX_LOCK); K(RTAX_MTU); K(RTAX_WINDOW); K(RTAX_RTT); K(RTAX_RTTVAR); K(RTAX_SSTHRESH);
  K(RTAX_CWND); K(RTAX_ADVMSS); K(RTAX_REORDERING); K(RTAX_HOPLIMIT); K(RTAX_INITCWND); K(RTAX_FEATURES);
  K(RTAX_RTO_MIN); K(RTAX_INITRWND); K(RTAX_QUICKACK); K(RTAX_CC_ALGO); K(RTAX_FASTOPEN_NO_COOKIE);

  table("RTN", "linux/rtnetlink.h", "Route types (rtm_type).");
  K(RTN_UNSPEC); K(RTN_UNICAST); K(RTN_LOCAL); K(RTN_BROADCAST); K(RTN_ANYCAST); K(RTN_MULTICAST);
  K(RTN_BLACKHOLE); K(RTN_UNREACHABLE); K(RTN_PROHIBIT); K(RTN_THROW); K(RTN_NAT); K(RTN_XRESOLVE);

  table("RTPROT", "linux/rtnetlink.h",
        "Route origins (rtm_protocol). The kernel interprets only values up to RTPROT_STATIC; the rest tag routes for their daemons.");
  K(RTPROT_UNSPEC); K(RTPROT_REDIRECT); K(RTPROT_KERNEL); K(RTPROT_BOOT); K(RTPROT_STATIC);
  K(RTPROT_GATED); K(RTPROT_RA); K(RTPROT_MRT); K(RTPROT_ZEBRA); K(RTPROT_BIRD); K(RTPROT_DNROUTED);
  K(RTPROT_XORP); K(RTPROT_NTK); K(RTPROT_DHCP); K(RTPROT_MROUTED); K(RTPROT_KEEPALIVED); K(RTPROT_BABEL);
  K(RTPROT_OPENR); K(RTPROT_BGP); K(RTPROT_ISIS); K(RTPROT_OSPF); K(RTPROT_RIP); K(RTPROT_EIGRP);

  table("RT_SCOPE", "linux/rtnetlink.h", "Route and address scopes (rtm_scope, ifa_scope).");
  K(RT_SCOPE_UNIVERSE); K(RT_SCOPE_SITE); K(RT_SCOPE_LINK); K(RT_SCOPE_HOST); K(RT_SCOPE_NOWHERE);

  table("RT_TABLE", "linux/rtnetlink.h", "Reserved routing table ids (rtm_table, RTA_TABLE, fib_rule_hdr.table, FRA_TABLE).");
  K(RT_TABLE_UNSPEC); K(RT_TABLE_COMPAT); K(RT_TABLE_DEFAULT); K(RT_TABLE_MAIN); K(RT_TABLE_LOCAL); K(RT_TABLE_MAX);

  table("RTM_F", "linux/rtnetlink.h", "rtm_flags.");
  K(RTM_F_NOTIFY); K(RTM_F_CLONED); K(RTM_F_EQUALIZE); K(RTM_F_PREFIX); K(RTM_F_LOOKUP_TABLE); K(RTM_F_FIB_MATCH);

  table("RTNLGRP", "linux/rtnetlink.h", "Multicast groups a NETLINK_ROUTE socket joins (NETLINK_ADD_MEMBERSHIP takes the number, not a bit).");
  K(RTNLGRP_NONE); K(RTNLGRP_LINK); K(RTNLGRP_NOTIFY); K(RTNLGRP_NEIGH); K(RTNLGRP_TC);
  K(RTNLGRP_IPV4_IFADDR); K(RTNLGRP_IPV4_MROUTE); K(RTNLGRP_IPV4_ROUTE); K(RTNLGRP_IPV4_RULE);
  K(RTNLGRP_IPV6_IFADDR); K(RTNLGRP_IPV6_MROUTE); K(RTNLGRP_IPV6_ROUTE); K(RTNLGRP_IPV6_IFINFO);
  K(RTNLGRP_IPV6_PREFIX); K(RTNLGRP_IPV6_RULE);

  table("IFLA", "linux/if_link.h", "Link attributes (after struct ifinfomsg).");
  K(IFLA_UNSPEC); K(IFLA_ADDRESS); K(IFLA_BROADCAST); K(IFLA_IFNAME); K(IFLA_MTU); K(IFLA_LINK);
  K(IFLA_MASTER); K(IFLA_TXQLEN); K(IFLA_OPERSTATE); K(IFLA_LINKMODE); K(IFLA_LINKINFO); K(IFLA_GROUP);

  table("IFLA_INFO", "linux/if_link.h", "Attributes nested inside IFLA_LINKINFO.");
  K(IFLA_INFO_UNSPEC); K(IFLA_INFO_KIND); K(IFLA_INFO_DATA);

  table("IFF", "linux/if.h", "Interface flags (ifi_flags).");
  K(IFF_UP); K(IFF_BROADCAST); K(IFF_DEBUG); K(IFF_LOOPBACK); K(IFF_POINTOPOINT); K(IFF_NOTRAILERS);
  K(IFF_RUNNING); K(IFF_NOARP); K(IFF_PROMISC); K(IFF_ALLMULTI); K(IFF_MASTER); K(IFF_SLAVE);
  K(IFF_MULTICAST); K(IFF_PORTSEL); K(IFF_AUTOMEDIA); K(IFF_DYNAMIC); K(IFF_LOWER_UP); K(IFF_DORMANT);
  K(IFF_ECHO);

  table("IF_OPER", "linux/if.h", "RFC 2863 operational states (IFLA_OPERSTATE).");
  K(IF_OPER_UNKNOWN); K(IF_OPER_NOTPRESENT); K(IF_OPER_DOWN); K(IF_OPER_LOWERLAYERDOWN);
  K(IF_OPER_TESTING); K(IF_OPER_DORMANT); K(IF_OPER_UP);

  table("ARPHRD", "linux/if_arp.h", "Link-layer types (ifi_type).");
  K(ARPHRD_ETHER); K(ARPHRD_PPP); K(ARPHRD_RAWIP); K(ARPHRD_TUNNEL); K(ARPHRD_TUNNEL6);
  K(ARPHRD_LOOPBACK); K(ARPHRD_SIT); K(ARPHRD_IPGRE); K(ARPHRD_IP6GRE); K(ARPHRD_VOID); K(ARPHRD_NONE);

  table("IFA", "linux/if_addr.h", "Address attributes (after struct ifaddrmsg).");
  K(IFA_UNSPEC); K(IFA_ADDRESS); K(IFA_LOCAL); K(IFA_LABEL); K(IFA_BROADCAST); K(IFA_ANYCAST);
  K(IFA_CACHEINFO); K(IFA_MULTICAST); K(IFA_FLAGS); K(IFA_RT_PRIORITY);

  table("IFA_F", "linux/if_addr.h", "Address flags (ifa_flags, extended to 32 bits by IFA_FLAGS).");
  K(IFA_F_SECONDARY); K(IFA_F_NODAD); K(IFA_F_OPTIMISTIC); K(IFA_F_DADFAILED); K(IFA_F_HOMEADDRESS);
  K(IFA_F_DEPRECATED); K(IFA_F_TENTATIVE); K(IFA_F_PERMANENT); K(IFA_F_MANAGETEMPADDR);
  K(IFA_F_NOPREFIXROUTE); K(IFA_F_MCAUTOJOIN); K(IFA_F_STABLE_PRIVACY);

  table("FRA", "linux/fib_rules.h", "Policy rule attributes (after struct fib_rule_hdr).");
  K(FRA_UNSPEC); K(FRA_DST); K(FRA_SRC); K(FRA_IIFNAME); K(FRA_GOTO); K(FRA_PRIORITY); K(FRA_FWMARK);
  K(FRA_FLOW); K(FRA_TUN_ID); K(FRA_SUPPRESS_IFGROUP); K(FRA_SUPPRESS_PREFIXLEN); K(FRA_TABLE);
  K(FRA_FWMASK); K(FRA_OIFNAME); K(FRA_PAD); K(FRA_L3MDEV); K(FRA_UID_RANGE); K(FRA_PROTOCOL);
  K(FRA_IP_PROTO); K(FRA_SPORT_RANGE); K(FRA_DPORT_RANGE);

  table("FR_ACT", "linux/fib_rules.h", "Policy rule actions (fib_rule_hdr.action).");
  K(FR_ACT_UNSPEC); K(FR_ACT_TO_TBL); K(FR_ACT_GOTO); K(FR_ACT_NOP); K(FR_ACT_RES3); K(FR_ACT_RES4);
  K(FR_ACT_BLACKHOLE); K(FR_ACT_UNREACHABLE); K(FR_ACT_PROHIBIT);

  table("FIB_RULE", "linux/fib_rules.h", "Policy rule flags (fib_rule_hdr.flags).");
  K(FIB_RULE_PERMANENT); K(FIB_RULE_INVERT); K(FIB_RULE_UNRESOLVED); K(FIB_RULE_IIF_DETACHED);
  K(FIB_RULE_OIF_DETACHED); K(FIB_RULE_FIND_SADDR);

  printf("]}\n], \"layouts\": [");

  layout("nlmsghdr", "linux/netlink.h", sizeof(struct nlmsghdr));
  F(struct nlmsghdr, nlmsg_len); F(struct nlmsghdr, nlmsg_type); F(struct nlmsghdr, nlmsg_flags);
  F(struct nlmsghdr, nlmsg_seq); F(struct nlmsghdr, nlmsg_pid);

  layout("nlmsgerr", "linux/netlink.h", sizeof(struct nlmsgerr));
  F(struct nlmsgerr, error); F(struct nlmsgerr, msg);

  layout("rtattr", "linux/rtnetlink.h", sizeof(struct rtattr));
  F(struct rtattr, rta_len); F(struct rtattr, rta_type);

  layout("rtmsg", "linux/rtnetlink.h", sizeof(struct rtmsg));
  F(struct rtmsg, rtm_family); F(struct rtmsg, rtm_dst_len); F(struct rtmsg, rtm_src_len);
  F(struct rtmsg, rtm_tos); F(struct rtmsg, rtm_table); F(struct rtmsg, rtm_protocol);
  F(struct rtmsg, rtm_scope); F(struct rtmsg, rtm_type); F(struct rtmsg, rtm_flags);

  layout("ifinfomsg", "linux/rtnetlink.h", sizeof(struct ifinfomsg));
  F(struct ifinfomsg, ifi_family); F(struct ifinfomsg, ifi_type); F(struct ifinfomsg, ifi_index);
  F(struct ifinfomsg, ifi_flags); F(struct ifinfomsg, ifi_change);

  layout("ifaddrmsg", "linux/if_addr.h", sizeof(struct ifaddrmsg));
  F(struct ifaddrmsg, ifa_family); F(struct ifaddrmsg, ifa_prefixlen); F(struct ifaddrmsg, ifa_flags);
  F(struct ifaddrmsg, ifa_scope); F(struct ifaddrmsg, ifa_index);

  layout("fib_rule_hdr", "linux/fib_rules.h", sizeof(struct fib_rule_hdr));
  F(struct fib_rule_hdr, family); F(struct fib_rule_hdr, dst_len); F(struct fib_rule_hdr, src_len);
  F(struct fib_rule_hdr, tos); F(struct fib_rule_hdr, table); F(struct fib_rule_hdr, res1);
  F(struct fib_rule_hdr, res2); F(struct fib_rule_hdr, action); F(struct fib_rule_hdr, flags);

  printf("]}\n]}\n");
  return 0;
}
