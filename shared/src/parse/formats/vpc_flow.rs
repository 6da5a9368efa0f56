//! VPC Flow Logs and Transit Gateway flow logs: one record per line, space-separated fields in
//! the order the flow log was created with (`-` for no value).
//!
//! Without configuration a line is recognised by its shape: the default format (14 fields), every
//! VPC field in the documented order (29 fields for version 5, 39 with the ECS fields of version
//! 7, 40 with `reject-reason` of version 8), the Transit Gateway default (36), or one of the
//! custom orders the AWS documentation gives as examples ([`DOCUMENTED_ORDERS`]) — whichever
//! single one every value fits by its shape (ids by prefix, addresses, numbers, epoch times,
//! keywords). Any other custom order comes from the log group's configuration
//! (`vpc_flow:<fields>`) or a header line; a line that looks like a flow record but fits no known
//! order is `text` with `flow_log_order=unknown`, counted in the ingest report.
//!
//! Why known orders and not a free inference from shapes: several fields share a shape, and no
//! rule tells them apart. In the AWS documentation's own Transit Gateway example the column after
//! `protocol` holds 3, 19, 3 — `tcp-flags` there, but `packets` fits every value as well.

use std::borrow::Cow;

use crate::parse::fields::LineFields;

/// Every field, in the order AWS documents them, with its attribute name.
const VPC_FIELDS: &[(&str, &str)] = &[
    ("version", "version"),
    ("account-id", "account_id"),
    ("interface-id", "interface_id"),
    ("srcaddr", "src_addr"),
    ("dstaddr", "dst_addr"),
    ("srcport", "src_port"),
    ("dstport", "dst_port"),
    ("protocol", "protocol"),
    ("packets", "packets"),
    ("bytes", "bytes"),
    ("start", "start"),
    ("end", "end"),
    ("action", "action"),
    ("log-status", "log_status"),
    ("vpc-id", "vpc_id"),
    ("subnet-id", "subnet_id"),
    ("instance-id", "instance_id"),
    ("tcp-flags", "tcp_flags"),
    ("type", "type"),
    ("pkt-srcaddr", "pkt_src_addr"),
    ("pkt-dstaddr", "pkt_dst_addr"),
    ("region", "region"),
    ("az-id", "az_id"),
    ("sublocation-type", "sublocation_type"),
    ("sublocation-id", "sublocation_id"),
    ("pkt-src-aws-service", "pkt_src_aws_service"),
    ("pkt-dst-aws-service", "pkt_dst_aws_service"),
    ("flow-direction", "flow_direction"),
    ("traffic-path", "traffic_path"),
    ("ecs-cluster-arn", "ecs_cluster_arn"),
    ("ecs-cluster-name", "ecs_cluster_name"),
    ("ecs-container-instance-arn", "ecs_container_instance_arn"),
    ("ecs-container-instance-id", "ecs_container_instance_id"),
    ("ecs-container-id", "ecs_container_id"),
    ("ecs-second-container-id", "ecs_second_container_id"),
    ("ecs-service-name", "ecs_service_name"),
    ("ecs-task-definition-arn", "ecs_task_definition_arn"),
    ("ecs-task-arn", "ecs_task_arn"),
    ("ecs-task-id", "ecs_task_id"),
    ("reject-reason", "reject_reason"),
    // Later fields, named as Vector's parser (vectordotdev/vrl) names them.
    ("resource-id", "resource_id"),
    ("encryption-status", "encryption_status"),
    ("interface-type", "interface_type"),
];

/// Custom field orders the AWS documentation gives as examples ("Flow log record examples"),
/// recognised without configuration when a line fits exactly one of them.
const DOCUMENTED_ORDERS: &[&str] = &[
    // Accepted and rejected traffic with TCP flags (version 3).
    "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport \
     pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status",
    // Traffic through a transit gateway (version 3).
    "version interface-id account-id vpc-id subnet-id instance-id srcaddr dstaddr srcport dstport protocol \
     tcp-flags type pkt-srcaddr pkt-dstaddr action log-status",
    // Traffic to and from AWS services, with the traffic path (version 5).
    "version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id vpc-id subnet-id \
     instance-id interface-id region az-id sublocation-type sublocation-id action tcp-flags pkt-srcaddr \
     pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service traffic-path flow-direction log-status",
];

/// Transit Gateway flow log fields, in the documented (default) order.
const TGW_FIELDS: &[(&str, &str)] = &[
    ("version", "version"),
    ("resource-type", "resource_type"),
    ("account-id", "account_id"),
    ("tgw-id", "tgw_id"),
    ("tgw-attachment-id", "tgw_attachment_id"),
    ("tgw-src-vpc-account-id", "tgw_src_vpc_account_id"),
    ("tgw-dst-vpc-account-id", "tgw_dst_vpc_account_id"),
    ("tgw-src-vpc-id", "tgw_src_vpc_id"),
    ("tgw-dst-vpc-id", "tgw_dst_vpc_id"),
    ("tgw-src-subnet-id", "tgw_src_subnet_id"),
    ("tgw-dst-subnet-id", "tgw_dst_subnet_id"),
    ("tgw-src-eni", "tgw_src_eni"),
    ("tgw-dst-eni", "tgw_dst_eni"),
    ("tgw-src-az-id", "tgw_src_az_id"),
    ("tgw-dst-az-id", "tgw_dst_az_id"),
    ("tgw-pair-attachment-id", "tgw_pair_attachment_id"),
    ("srcaddr", "src_addr"),
    ("dstaddr", "dst_addr"),
    ("srcport", "src_port"),
    ("dstport", "dst_port"),
    ("protocol", "protocol"),
    ("packets", "packets"),
    ("bytes", "bytes"),
    ("start", "start"),
    ("end", "end"),
    ("log-status", "log_status"),
    ("type", "type"),
    ("packets-lost-no-route", "packets_lost_no_route"),
    ("packets-lost-blackhole", "packets_lost_blackhole"),
    ("packets-lost-mtu-exceeded", "packets_lost_mtu_exceeded"),
    ("packets-lost-ttl-expired", "packets_lost_ttl_expired"),
    ("tcp-flags", "tcp_flags"),
    ("region", "region"),
    ("flow-direction", "flow_direction"),
    ("pkt-src-aws-service", "pkt_src_aws_service"),
    ("pkt-dst-aws-service", "pkt_dst_aws_service"),
];

/// The attribute name of a field, for any field of either kind of flow log.
fn attribute(field: &str) -> Option<&'static str> {
    VPC_FIELDS.iter().chain(TGW_FIELDS).find(|(name, _)| *name == field).map(|(_, attr)| *attr)
}

/// The field order of a flow log: attribute names, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFields {
    attributes: Vec<&'static str>,
}

impl FlowFields {
    fn of(fields: &[(&str, &'static str)]) -> FlowFields {
        FlowFields { attributes: fields.iter().map(|(_, attr)| *attr).collect() }
    }

    /// A field list as AWS writes it (`${version} ${srcaddr} …` or `version srcaddr …`).
    pub fn parse(spec: &str) -> Result<FlowFields, String> {
        let mut attributes = Vec::new();
        for field in spec.split_ascii_whitespace() {
            let name = field.trim_start_matches("${").trim_end_matches('}');
            attributes.push(attribute(name).ok_or_else(|| format!("unknown flow log field {name:?}"))?);
        }
        if attributes.is_empty() {
            return Err("empty flow log field list".into());
        }
        Ok(FlowFields { attributes })
    }

    /// The format a header line names (`version account-id …`), when it is one.
    pub fn from_header(line: &str) -> Option<FlowFields> {
        let first = line.split_ascii_whitespace().next()?;
        (attribute(first).is_some() && !first.starts_with(|c: char| c.is_ascii_digit()))
            .then(|| FlowFields::parse(line).ok())
            .flatten()
    }
}

/// [`DOCUMENTED_ORDERS`], read once.
fn documented_orders() -> &'static [FlowFields] {
    static ORDERS: std::sync::LazyLock<Vec<FlowFields>> = std::sync::LazyLock::new(|| {
        DOCUMENTED_ORDERS.iter().filter_map(|order| FlowFields::parse(order).ok()).collect()
    });
    &ORDERS
}

/// The order a line's values fit without configuration: the one known order (the prefixes of
/// the full field list, the Transit Gateway default, the documented examples) of the line's
/// length whose every field accepts its value. None when no order fits, or more than one.
fn detect(tokens: &[&str]) -> Option<FlowFields> {
    let version = tokens.first()?;
    if !(version.len() == 1 && (b'2'..=b'8').contains(&version.as_bytes()[0])) {
        return None;
    }
    let full_order = match tokens.len() {
        14 | 29 | 39 | 40 => Some(FlowFields::of(&VPC_FIELDS[..tokens.len()])),
        36 if tokens[3].starts_with("tgw-") => Some(FlowFields::of(TGW_FIELDS)),
        _ => None,
    };
    let documented = documented_orders().iter().filter(|fields| fields.attributes.len() == tokens.len()).cloned();
    let mut fitting = full_order.into_iter().chain(documented).filter(|fields| fits(fields, tokens));
    match (fitting.next(), fitting.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// Whether every field of `format` accepts its value (and the counts agree).
fn fits(format: &FlowFields, tokens: &[&str]) -> bool {
    tokens.len() == format.attributes.len()
        && format.attributes.iter().zip(tokens).all(|(attr, value)| valid(attr, value))
}

/// Whether a line that fits no known order still looks like a flow record: a version first and
/// at least two values only flow logs have (ACCEPT/REJECT, a log status, an `eni-`/`vpc-`/`subnet-`
/// id), so that its report can say the order needs configuring.
pub(crate) fn looks_like_unknown_order(line: &str) -> bool {
    if !might_be(line) {
        return false;
    }
    let marks = line
        .split_ascii_whitespace()
        .filter(|t| {
            matches!(*t, "ACCEPT" | "REJECT" | "OK" | "NODATA" | "SKIPDATA")
                || ["eni-", "vpc-", "subnet-"].iter().any(|prefix| {
                    t.strip_prefix(prefix).is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()))
                })
        })
        .count();
    marks >= 2
}

/// A quick test before splitting: a VPC flow line starts with a version digit and a space.
pub(crate) fn might_be(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 20 && (b'2'..=b'8').contains(&b[0]) && b[1] == b' '
}

/// Parses `line` in `format` (or a detected one): every field's value as its attribute (none for
/// `-`), `start` as the event time. False, and nothing set, unless every field is as expected.
pub(crate) fn parse<'a>(line: &'a str, format: Option<&FlowFields>, out: &mut LineFields<'a>) -> bool {
    let tokens: Vec<&str> = line.split_ascii_whitespace().collect();
    let detected;
    // A detected order fits already; a configured one is checked here.
    let format = match format {
        Some(format) if fits(format, &tokens) => format,
        Some(_) => return false,
        None => match detect(&tokens) {
            Some(found) => {
                detected = found;
                &detected
            }
            None => return false,
        },
    };
    for (attr, value) in format.attributes.iter().copied().zip(tokens.iter().copied()) {
        if value != "-" {
            out.attr(attr, Cow::Borrowed(value));
        }
        if attr == "start"
            && let Ok(seconds) = value.parse::<i64>()
        {
            out.time_ms = seconds.checked_mul(1000);
        }
    }
    true
}

/// Whether `value` has the shape of field `attr` (`-`, no value, fits every field but the version).
fn valid(attr: &str, value: &str) -> bool {
    let digits = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    if attr == "version" {
        return digits(value);
    }
    if value == "-" {
        return true;
    }
    let id = |prefix: &str| value.strip_prefix(prefix).is_some_and(|rest| !rest.is_empty());
    match attr {
        "src_port" | "dst_port" | "protocol" | "packets" | "bytes" | "start" | "end" | "tcp_flags" | "traffic_path"
        | "encryption_status" => digits(value),
        // Twelve digits from AWS; samples with ids shortened by hand exist too.
        "account_id" => value == "unknown" || digits(value),
        "interface_id" => id("eni-"),
        "vpc_id" => id("vpc-"),
        "subnet_id" => id("subnet-"),
        "instance_id" => id("i-"),
        "src_addr" | "dst_addr" | "pkt_src_addr" | "pkt_dst_addr" => value.parse::<std::net::IpAddr>().is_ok(),
        "type" => matches!(value, "IPv4" | "IPv6" | "EFA"),
        "flow_direction" => matches!(value, "ingress" | "egress"),
        "action" => matches!(value, "ACCEPT" | "REJECT"),
        "log_status" => matches!(value, "OK" | "NODATA" | "SKIPDATA"),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(out: &'a LineFields<'_>) -> Vec<(&'a str, &'a str)> {
        out.attributes.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect()
    }

    #[test]
    fn the_default_format_is_recognised_without_configuration() {
        let line = "2 210987654321 eni-0a1b2c3d4e5f60718 10.1.2.3 10.1.9.8 51000 443 6 12 4800 1795168800 1795168860 ACCEPT OK";
        let mut out = LineFields::default();
        assert!(might_be(line) && parse(line, None, &mut out));
        let attrs = attrs(&out);
        for pair in [("src_addr", "10.1.2.3"), ("dst_port", "443"), ("action", "ACCEPT"), ("log_status", "OK")] {
            assert!(attrs.contains(&pair), "{pair:?} in {attrs:?}");
        }
        assert_eq!(out.time_ms, Some(1_795_168_800_000));
    }

    #[test]
    fn nodata_records_keep_what_they_have() {
        let line = "2 210987654321 eni-0a1b2c3d4e5f60718 - - - - - - - 1795168800 1795168860 - NODATA";
        let mut out = LineFields::default();
        assert!(parse(line, None, &mut out));
        let attrs = attrs(&out);
        assert!(attrs.contains(&("log_status", "NODATA")) && !attrs.iter().any(|(k, _)| *k == "src_addr"));
    }

    #[test]
    fn a_custom_order_comes_from_configuration_or_a_header() {
        let spec =
            "${version} ${vpc-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${action} ${log-status} ${flow-direction}";
        let format = FlowFields::parse(spec).unwrap();
        let header =
            FlowFields::from_header("version vpc-id srcaddr dstaddr pkt-srcaddr action log-status flow-direction");
        assert_eq!(header.as_ref(), Some(&format));
        let line = "5 vpc-0123456789abcdef0 10.0.0.5 52.94.1.1 10.0.3.7 REJECT OK egress";
        let mut out = LineFields::default();
        assert!(!parse(line, None, &mut LineFields::default()), "8 fields match no known order");
        assert!(parse(line, Some(&format), &mut out));
        assert!(
            attrs(&out).contains(&("pkt_src_addr", "10.0.3.7")) && attrs(&out).contains(&("flow_direction", "egress"))
        );
        assert!(FlowFields::parse("version nonsense").is_err());
        assert_eq!(FlowFields::from_header("2 210987654321 eni-1 - - - - - - - 1 2 - NODATA"), None);
    }

    #[test]
    fn a_documented_custom_order_is_recognised_by_its_values_and_another_is_reported() {
        // The AWS documentation's TCP-flags order (bytes before packets), with values of our own.
        let line = "3 vpc-0a1b2c3d subnet-0a1b2c3d i-0a1b2c3d4e eni-0a1b2c3d4e 210987654321 IPv4 10.1.2.3 10.1.9.8 \
                    51000 443 10.1.2.3 10.1.9.8 6 9000 12 1795168800 1795168860 ACCEPT 19 OK";
        let mut out = LineFields::default();
        assert!(might_be(line) && parse(line, None, &mut out));
        let found = attrs(&out);
        for pair in [("bytes", "9000"), ("packets", "12"), ("tcp_flags", "19"), ("pkt_dst_addr", "10.1.9.8")] {
            assert!(found.contains(&pair), "{pair:?} in {found:?}");
        }

        // The same values with the ports before the addresses: no known order has that.
        let moved = "3 vpc-0a1b2c3d subnet-0a1b2c3d i-0a1b2c3d4e eni-0a1b2c3d4e 210987654321 IPv4 51000 443 \
                     10.1.2.3 10.1.9.8 10.1.2.3 10.1.9.8 6 9000 12 1795168800 1795168860 ACCEPT 19 OK";
        let mut out = LineFields::default();
        assert!(!parse(moved, None, &mut out) && out.attributes.is_empty());
        assert!(looks_like_unknown_order(moved));
        assert!(!looks_like_unknown_order("3 little pigs built an eni-house, OK"));
    }

    #[test]
    fn every_documented_order_names_known_fields() {
        assert_eq!(documented_orders().len(), DOCUMENTED_ORDERS.len());
    }

    #[test]
    fn malformed_lines_are_not_flow_records() {
        for line in [
            "2 210987654321 eni-1 10.1.2.3 10.1.9.8 51000 443 6 12 4800 1795168800 1795168860 MAYBE OK",
            "2 210987654321 eni-1 10.1.2.3 10.1.9.8 port 443 6 12 4800 1795168800 1795168860 ACCEPT OK",
            "2 210987654321 eni-1 10.1.2.3 10.1.9.8 51000 443 6 12 4800 1795168800 ACCEPT OK",
            "9 210987654321 eni-1 10.1.2.3 10.1.9.8 51000 443 6 12 4800 1795168800 1795168860 ACCEPT OK",
            "2 cats are nice",
        ] {
            let mut out = LineFields::default();
            assert!(!parse(line, None, &mut out), "{line}");
            assert!(out.attributes.is_empty() && out.time_ms.is_none());
        }
    }

    #[test]
    fn transit_gateway_and_all_field_orders_are_detected_by_count() {
        let mut tgw = vec!["3", "TransitGateway", "210987654321", "tgw-0123", "tgw-attach-0456"];
        tgw.extend(["-"; 11]);
        tgw.extend(["10.0.0.1", "10.0.1.1", "40000", "22", "6", "5", "900", "1795168800", "1795168860", "OK"]);
        tgw.extend(["IPv4", "0", "0", "0", "0", "2", "us-east-1", "ingress", "-", "-"]);
        assert_eq!(tgw.len(), 36);
        let line = tgw.join(" ");
        let mut out = LineFields::default();
        assert!(parse(&line, None, &mut out), "{line}");
        assert!(attrs(&out).contains(&("tgw_attachment_id", "tgw-attach-0456")));

        let mut v8: Vec<String> =
            "5 210987654321 eni-1 10.1.2.3 10.1.9.8 51000 443 6 12 4800 1795168800 1795168860 REJECT OK"
                .split(' ')
                .map(str::to_owned)
                .collect();
        v8.extend((14..39).map(|_| "-".to_owned()));
        v8.push("BPA".into());
        let v8 = v8.join(" ");
        let mut out = LineFields::default();
        assert!(parse(&v8, None, &mut out));
        assert!(attrs(&out).contains(&("reject_reason", "BPA")));
    }
}
