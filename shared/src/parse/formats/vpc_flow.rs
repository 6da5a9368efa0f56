//! VPC Flow Logs and Transit Gateway flow logs: one record per line, space-separated fields in
//! the order the flow log was created with (`-` for no value).
//!
//! Without configuration a line is recognised by its shape: the default format (14 fields), every
//! VPC field in the documented order (29 fields for version 5, 39 with the ECS fields of version
//! 7, 40 with `reject-reason` of version 8), or the Transit Gateway default (36). A custom order
//! comes from the log group's configuration (`vpc_flow:<fields>`) or a header line.

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

/// The known orders a line of `fields` values may be in, without configuration.
fn detect(tokens: &[&str]) -> Option<FlowFields> {
    let version = tokens.first()?;
    if !(version.len() == 1 && (b'2'..=b'8').contains(&version.as_bytes()[0])) {
        return None;
    }
    match tokens.len() {
        14 | 29 | 39 | 40 => Some(FlowFields::of(&VPC_FIELDS[..tokens.len()])),
        36 if tokens[3].starts_with("tgw-") => Some(FlowFields::of(TGW_FIELDS)),
        _ => None,
    }
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
    let format = match format {
        Some(format) => format,
        None => match detect(&tokens) {
            Some(found) => {
                detected = found;
                &detected
            }
            None => return false,
        },
    };
    if tokens.len() != format.attributes.len() {
        return false;
    }
    let fields = || format.attributes.iter().copied().zip(tokens.iter().copied());
    if !fields().all(|(attr, value)| valid(attr, value)) {
        return false;
    }
    for (attr, value) in fields() {
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

fn valid(attr: &str, value: &str) -> bool {
    let number = || value == "-" || value.bytes().all(|b| b.is_ascii_digit());
    match attr {
        "version" => value.bytes().all(|b| b.is_ascii_digit()),
        "src_port" | "dst_port" | "protocol" | "packets" | "bytes" | "start" | "end" | "tcp_flags" => number(),
        "action" => matches!(value, "ACCEPT" | "REJECT" | "-"),
        "log_status" => matches!(value, "OK" | "NODATA" | "SKIPDATA" | "-"),
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
