//! template.yaml and the handlers must agree: what the event source mapping is told to expect
//! is what the handler does, every environment variable is one the function reads (and its
//! default value parses), and every function's code and binary exist.

use serde_yaml::Value;

fn template() -> Value {
    let text = std::fs::read_to_string(format!("{}/../template.yaml", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// The prefix of every curated table: `logs/`, then the typed tables'.
fn curated_prefixes() -> impl Iterator<Item = String> {
    loglake::lake::typed::CuratedTable::all().map(|table| table.prefix())
}

fn functions(template: &Value) -> Vec<(String, Value)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(name, r)| (name.as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// The value a parameter reference stands for when deployed with defaults; attributes and
/// substitutions become placeholders of the right shape.
fn resolve(template: &Value, value: &Value) -> String {
    match value {
        Value::Tagged(tagged) if tagged.tag == "!GetAtt" => {
            let target = tagged.value.as_str().unwrap();
            if target.contains("Stream") {
                "arn:aws:kinesis:us-east-1:123456789012:stream/placeholder".into()
            } else if target.contains("Role") {
                "arn:aws:iam::123456789012:role/placeholder".into()
            } else {
                format!("arn:aws:placeholder:::{target}")
            }
        }
        Value::Tagged(tagged) if tagged.tag == "!Sub" => {
            tagged.value.as_str().unwrap().replace("${AWS::StackName}", "loglake")
        }
        Value::Tagged(tagged) if tagged.tag == "!Ref" => {
            let name = tagged.value.as_str().unwrap();
            match &template["Parameters"][name]["Default"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => format!("{}-placeholder", name.to_lowercase()), // a resource, such as the bucket
            }
        }
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("unexpected environment value {other:?}"),
    }
}

#[test]
fn every_function_reads_its_environment_and_its_defaults_parse() {
    let template = template();
    let functions = functions(&template);
    assert_eq!(functions.len(), 8);
    for (name, function) in functions {
        let variables = function["Properties"]["Environment"]["Variables"].as_mapping().unwrap();
        let env: Vec<(String, String)> =
            variables.iter().map(|(k, v)| (k.as_str().unwrap().to_owned(), resolve(&template, v))).collect();
        let binary = function["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        let known: Vec<&str> = match binary {
            "log-subscriber" => log_subscriber::vars::ALL.to_vec(),
            "compactor" => [loglake::config::vars::ALL, compactor::vars::ALL].concat(),
            "query-runner" => [loglake::config::vars::ALL, query_runner::vars::ALL].concat(),
            "ingest-s3" => [loglake::config::vars::ALL, ingest_s3::vars::ALL].concat(),
            _ => loglake::config::vars::ALL.to_vec(),
        };
        for (variable, _) in &env {
            assert!(known.contains(&variable.as_str()), "{name}: {variable} is not a setting {binary} reads");
        }
        let lookup = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        if binary == "log-subscriber" {
            // The template's default for the patterns is empty, which leaves the function out.
            let with_patterns = |key: &str| {
                if key == log_subscriber::vars::INCLUDE { Some("/aws/lambda/*".into()) } else { lookup(key) }
            };
            log_subscriber::Config::from_lookup(with_patterns).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(function["Condition"], "HasLogSubscriber");
            assert!(implies(&template, Some("HasLogSubscriber"), "HasKinesis"), "log-subscriber needs the stream");
        } else if binary == "compactor" {
            compactor::Config::from_lookup(lookup).unwrap_or_else(|e| panic!("{name}: {e}"));
        } else if binary == "query-runner" {
            query_runner::Config::from_lookup(lookup).unwrap_or_else(|e| panic!("{name}: {e}"));
        } else if binary == "ingest-s3" {
            ingest_s3::Config::from_lookup(lookup).unwrap_or_else(|e| panic!("{name}: {e}"));
        } else {
            loglake::function::FunctionConfig::from_lookup(lookup).unwrap_or_else(|e| panic!("{name}: {e}"));
        }

        // The code and the binary the build needs exist.
        let code = function["Properties"]["CodeUri"].as_str().unwrap();
        let manifest = std::fs::read_to_string(format!("{}/../{code}/Cargo.toml", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let binary = function["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        assert!(manifest.contains(&format!("name = \"{binary}\"")), "{name}: no binary {binary} in {code}");
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
    }
}

#[test]
fn the_kinesis_event_source_expects_what_the_handler_does() {
    let template = template();
    let function = &template["Resources"]["IngestKinesisFunction"];
    let mapping = &template["Resources"]["IngestKinesisEventSource"];
    let source = &mapping["Properties"];
    assert_eq!(mapping["Type"], "AWS::Lambda::EventSourceMapping");
    assert_eq!(mapping["Condition"], function["Condition"]);
    assert!(format!("{:?}", source["FunctionName"]).contains("IngestKinesisFunction"));
    // The function reads this stream only: no SAM event (which attaches the managed policy for
    // every stream), and its own statement names the stream.
    assert!(function["Properties"].get("Events").is_none());
    let policies = format!("{:?}", function["Properties"]["Policies"]);
    assert!(policies.contains("kinesis:GetRecords") && policies.contains("LogStream.Arn"), "{policies}");
    assert!(!policies.contains("kinesis:*") && !policies.contains("KinesisStreamReadPolicy"), "{policies}");

    // The handler answers with batchItemFailures; Lambda reads them only when told to.
    let response = serde_json::to_value(loglake::ingest::kinesis::BatchResponse::default()).unwrap();
    assert!(response.get("batchItemFailures").is_some());
    let types: Vec<&str> =
        source["FunctionResponseTypes"].as_sequence().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert_eq!(types, ["ReportBatchItemFailures"]);

    // Crashes and timeouts fail the whole batch: bisect it, retry a bounded number of times,
    // and send what is given up on to a destination instead of dropping it.
    assert_eq!(source["BisectBatchOnFunctionError"], true);
    let retries = source["MaximumRetryAttempts"].as_i64().unwrap();
    assert!((0..=100).contains(&retries), "bounded retries, not -1: {retries}");
    let record_age = source["MaximumRecordAgeInSeconds"].as_i64().unwrap();
    let retention_hours = template["Resources"]["LogStream"]["Properties"]["RetentionPeriodHours"].as_i64().unwrap();
    assert!(
        record_age > 0 && record_age < retention_hours * 3600,
        "records are given up on before the stream drops them"
    );
    assert!(
        format!("{:?}", source["DestinationConfig"]["OnFailure"]["Destination"]).contains("IngestKinesisFailureQueue")
    );
    assert!(source["BatchSize"].as_i64().unwrap() <= 10_000);

    // The handler stops writing DEADLINE_MARGIN (at most a fifth of the time) before the timeout.
    let timeout = function["Properties"]["Timeout"].as_u64().unwrap();
    assert!(timeout >= 5 * ingest_kinesis::DEADLINE_MARGIN.as_secs(), "timeout {timeout} s leaves too little time");
    // The peak RSS of a full 6 MB batch is measured in bench/ to stay under 64 MB.
    assert_eq!(function["Properties"]["MemorySize"], 128);
}

#[test]
fn the_s3_queue_and_event_source_expect_what_ingest_s3_does_and_it_reads_only_its_sources() {
    let template = template();
    let resources = &template["Resources"];
    let function = &resources["IngestS3Function"];
    let mapping = &resources["IngestS3EventSource"]["Properties"];
    let queue = &resources["IngestS3Queue"]["Properties"];
    for name in
        ["IngestS3Function", "IngestS3EventSource", "IngestS3Queue", "IngestS3DeadLetterQueue", "IngestS3QueuePolicy"]
    {
        assert_eq!(resources[name]["Condition"], "HasS3Ingest", "{name}: off unless S3LogSources is given");
    }
    assert_eq!(template["Parameters"]["S3LogSources"]["Default"], "");
    assert!(format!("{:?}", mapping["EventSourceArn"]).contains("IngestS3Queue"));
    assert!(function["Properties"].get("Events").is_none(), "no SAM event: its managed policy reads every queue");
    // The handler answers with batchItemFailures (message ids); Lambda reads them only when told to.
    let types: Vec<&str> =
        mapping["FunctionResponseTypes"].as_sequence().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert_eq!(types, ["ReportBatchItemFailures"]);
    // A message in work is not delivered again before the invocation ends; what keeps failing
    // goes to the dead-letter queue after a bounded number of deliveries.
    let timeout = function["Properties"]["Timeout"].as_u64().unwrap();
    assert!(queue["VisibilityTimeout"].as_u64().unwrap() > timeout);
    assert!(timeout >= 5 * ingest_s3::DEADLINE_MARGIN.as_secs());
    let redrive = &queue["RedrivePolicy"];
    assert!(format!("{:?}", redrive["deadLetterTargetArn"]).contains("IngestS3DeadLetterQueue"));
    assert!((3..=20).contains(&redrive["maxReceiveCount"].as_i64().unwrap()));
    for q in ["IngestS3Queue", "IngestS3DeadLetterQueue"] {
        assert_eq!(resources[q]["Properties"]["SqsManagedSseEnabled"], true, "{q}");
    }
    // Reads only under the configured sources; writes only staging, errors and its progress.
    let policies = format!("{:?}", function["Properties"]["Policies"]);
    assert!(policies.contains("S3LogSources") && policies.contains("s3:GetObjectVersion"), "{policies}");
    assert!(!policies.contains("arn:aws:s3:::*") && !policies.contains("s3:*"), "{policies}");
    for prefix in ["/staging/*", "/errors/*", "/_loglake/ingest-s3/*"] {
        assert!(policies.contains(prefix), "{prefix}: {policies}");
    }
    assert!(loglake::lake::layout::S3_PROGRESS_PREFIX.starts_with("_loglake/ingest-s3/"));
    // Every object gets a progress lookup, almost always of a missing key: without ListBucket S3
    // answers 403 for it, which would fail every message.
    assert!(policies.contains("s3:ListBucket") && policies.contains("_loglake/ingest-s3/*"), "{policies}");
    // The bounds per object are derived from the memory the template gives.
    let memory = function["Properties"]["MemorySize"].as_u64().unwrap();
    assert_eq!(memory as i64, ingest_s3::DEFAULT_MEMORY_MB, "the CLI assumes the template's memory");
    // The EventBridge variant: Object Created events of the named buckets, to the queue.
    let rule = &resources["IngestS3EventBridgeRule"];
    assert_eq!(rule["Condition"], "HasS3EventBridge");
    assert_eq!(rule["Properties"]["EventPattern"]["detail-type"][0], "Object Created");
    assert!(format!("{:?}", rule["Properties"]["Targets"]).contains("IngestS3Queue"));
}

#[test]
fn the_cloudwatch_to_kinesis_subscription_has_a_role_that_may_put_records() {
    let template = template();
    let resources = &template["Resources"];
    let filter = &resources["KinesisSubscriptionFilter"]["Properties"];
    assert!(matches!(&filter["DestinationArn"], Value::Tagged(t) if t.value == "LogStream.Arn"));
    assert!(matches!(&filter["RoleArn"], Value::Tagged(t) if t.value == "CloudWatchLogsToKinesisRole.Arn"));
    let role = &resources["CloudWatchLogsToKinesisRole"]["Properties"];
    assert_eq!(role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"], "logs.amazonaws.com");
    assert_eq!(role["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"], "kinesis:PutRecord");
}

#[test]
fn the_delivery_stream_reads_what_the_transform_returns() {
    let template = template();
    let resources = &template["Resources"];
    let destination = &resources["DeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"];

    // The transform is the stream's processor.
    let processor = &destination["ProcessingConfiguration"]["Processors"][0];
    assert_eq!(processor["Type"], "Lambda");
    let lambda_arn = processor["Parameters"].as_sequence().unwrap().iter().find(|p| p["ParameterName"] == "LambdaArn");
    assert!(
        matches!(&lambda_arn.unwrap()["ParameterValue"], Value::Tagged(t) if t.value == "FirehoseTransformFunction.Arn")
    );

    // Dynamic partitioning by the keys the transform sets, into the staging layout.
    assert_eq!(destination["DynamicPartitioningConfiguration"]["Enabled"], true);
    let keys =
        serde_json::to_value(loglake::ingest::firehose::PartitionKeys { dt: "d".into(), hour: "h".into() }).unwrap();
    let prefix = destination["Prefix"].as_str().unwrap();
    assert!(prefix.starts_with(loglake::lake::layout::STAGING_PREFIX), "{prefix}");
    for key in keys.as_object().unwrap().keys() {
        assert!(prefix.contains(&format!("{key}=!{{partitionKeyFromLambda:{key}}}")), "{prefix} lacks {key}");
    }
    assert!(destination["ErrorOutputPrefix"].as_str().unwrap().starts_with(loglake::lake::layout::ERRORS_PREFIX));

    // The rows are read as the staging table, with times in epoch milliseconds as the transform writes them.
    let conversion = &destination["DataFormatConversionConfiguration"];
    assert_eq!(conversion["Enabled"], true);
    assert_eq!(conversion["SchemaConfiguration"]["TableName"], "logs_staging");
    assert_eq!(resources["LogsStagingTable"]["Properties"]["TableInput"]["Name"], "logs_staging");
    let formats = &conversion["InputFormatConfiguration"]["Deserializer"]["HiveJsonSerDe"]["TimestampFormats"];
    assert_eq!(formats.as_sequence().unwrap().len(), 1);
    assert_eq!(formats[0], "millis");

    // Firehose gives a transformation at most 5 minutes.
    let timeout = resources["FirehoseTransformFunction"]["Properties"]["Timeout"].as_u64().unwrap();
    assert!(timeout <= 300, "{timeout}");
}

#[test]
fn the_log_subscriber_never_subscribes_this_stack_and_may_only_do_what_it_needs() {
    let template = template();
    let properties = &template["Resources"]["LogSubscriberFunction"]["Properties"];
    let variables = &properties["Environment"]["Variables"];
    // Every loglake stack's log groups (/loglake/<stack>/…) and everything tagged with this
    // stack are recognised as loglake's own.
    let prefix = resolve(&template, &variables["LOGLAKE_SUBSCRIBER_OWN_PREFIXES"]);
    assert_eq!(prefix, "/loglake/");
    assert_eq!(resolve(&template, &variables["LOGLAKE_SUBSCRIBER_OWN_TAG"]), "aws:cloudformation:stack-name=loglake");
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] == "AWS::Logs::LogGroup" {
            let group = resolve(&template, &resource["Properties"]["LogGroupName"]);
            assert!(group.starts_with(&prefix), "{name:?}: {group}");
        }
    }
    // The events: CreateLogGroup through CloudTrail, and a sweep.
    let events = &properties["Events"];
    assert_eq!(events["LogGroupCreated"]["Properties"]["Pattern"]["detail"]["eventName"][0], "CreateLogGroup");
    assert_eq!(events["Sweep"]["Type"], "Schedule");
    // Least privilege: only the calls it makes, and passing only the subscription's role.
    let mut actions: Vec<&str> = properties["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::Sequence(list) => list.iter().map(|a| a.as_str().unwrap()).collect::<Vec<_>>(),
            one => vec![one.as_str().unwrap()],
        })
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "iam:PassRole",
            "logs:DescribeLogGroups",
            "logs:DescribeSubscriptionFilters",
            "logs:ListTagsForResource",
            "logs:PutRetentionPolicy",
            "logs:PutSubscriptionFilter"
        ]
    );
}

#[test]
fn the_compactor_may_touch_staging_curated_and_state_and_only_write_what_it_sets_aside() {
    let template = template();
    let properties = &template["Resources"]["CompactorFunction"]["Properties"];
    assert_eq!(properties["Events"]["Every15Minutes"]["Type"], "Schedule");
    let statements = properties["Policies"][0]["Statement"].as_sequence().unwrap();
    let objects: Vec<String> =
        statements[0]["Resource"].as_sequence().unwrap().iter().map(|r| resolve(&template, r)).collect();
    // Staging, every curated table (a typed table it could not write would fail every run once
    // typed tables were on: the first typed tables were missing here) and the state.
    let expected: Vec<String> = std::iter::once("staging/".to_owned())
        .chain(curated_prefixes())
        .chain(["_loglake/".to_owned()])
        .map(|prefix| format!("${{LakeBucket.Arn}}/{prefix}*"))
        .collect();
    assert_eq!(objects, expected);
    assert!(!objects.iter().any(|o| o.contains("errors")), "errors/ is never read or deleted");
    // Only what it sets aside is written there.
    assert_eq!(statements[1]["Action"].as_sequence().unwrap().len(), 1);
    assert_eq!(statements[1]["Action"][0], "s3:PutObject");
    assert_eq!(resolve(&template, &statements[1]["Resource"]), "${LakeBucket.Arn}/errors/compaction/*");
    // Its memory covers the measured peak (about four times the sort budget) with room.
    let budget: u64 =
        properties["Environment"]["Variables"]["LOGLAKE_COMPACT_MEMORY_MB"].as_str().unwrap().parse().unwrap();
    assert!(properties["MemorySize"].as_u64().unwrap() >= 5 * budget);
    // A live run never loses its lease: it lasts longer than the function may run (with the
    // margin a run keeps before its last step), and a failed run is left to the next schedule.
    let lease_minutes: u64 =
        properties["Environment"]["Variables"]["LOGLAKE_COMPACT_LEASE_MINUTES"].as_str().unwrap().parse().unwrap();
    assert!(lease_minutes * 60 >= properties["Timeout"].as_u64().unwrap() + 60, "lease {lease_minutes} min");
    assert_eq!(properties["EventInvokeConfig"]["MaximumRetryAttempts"], 0);
    // Files a switch replaces outlive any query planned before it (Athena's DML timeout: 30 min).
    let delay: u64 = properties["Environment"]["Variables"]["LOGLAKE_COMPACT_DELETE_DELAY_MINUTES"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(delay >= 30, "{delay} min");
    assert_eq!(properties["Events"]["Every15Minutes"]["Properties"]["Schedule"], "rate(15 minutes)");
    assert!(properties["Timeout"].as_u64().unwrap() < 15 * 60, "a scheduled run ends before the next starts");
}

/// Two stacks in one account and region do not collide: every name CloudFormation does not make
/// unique is the stack's own — the subscription filters, the rollup schedules (in a group
/// CloudFormation names), the Glue database (which Athena takes unquoted).
#[test]
fn names_that_are_account_wide_are_per_stack() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let mut filters = 0;
    for (name, resource) in resources {
        if resource["Type"] == "AWS::Logs::SubscriptionFilter" {
            let filter = format!("{:?}", resource["Properties"]["FilterName"]);
            assert!(filter.contains("${AWS::StackName}"), "{name:?}: {filter}");
            filters += 1;
        }
        for (event, spec) in resource["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if spec["Type"] == "ScheduleV2" {
                let group = format!("{:?}", spec["Properties"]["GroupName"]);
                assert!(group.contains("QuerySchedules"), "{name:?} {event:?}: {group}");
            }
        }
    }
    assert_eq!(filters, 2);
    assert_eq!(template["Resources"]["QuerySchedules"]["Type"], "AWS::Scheduler::ScheduleGroup");
    assert!(template["Resources"]["QuerySchedules"].get("Properties").is_none(), "named by CloudFormation");
    let subscriber = &template["Resources"]["LogSubscriberFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(resolve(&template, &subscriber["LOGLAKE_SUBSCRIBER_FILTER_NAME"]), "loglake-loglake");
    // The database: "loglake_" and the stack name with its hyphens made underscores.
    let database = format!("{:?}", template["Resources"]["LakeDatabase"]["Properties"]["DatabaseInput"]["Name"]);
    assert!(
        database.contains("!Split") && database.contains("\"-\"") && database.contains("AWS::StackName"),
        "{database}"
    );
}

/// The zone parameter takes every zone the functions know, and nothing shaped otherwise.
#[test]
fn the_partition_zone_parameter_takes_every_iana_zone_name() {
    let template = template();
    let pattern = template["Parameters"]["PartitionTimeZone"]["AllowedPattern"].as_str().unwrap();
    let pattern = regex_lite::Regex::new(pattern).unwrap();
    for zone in chrono_tz::TZ_VARIANTS {
        assert!(pattern.is_match(zone.name()), "{}", zone.name());
    }
    for bad in ["", "Asia/Tokyo ", "Tokyo time", "../etc", "/UTC", "UTC'", "Asia/Tokyo/x/y"] {
        assert!(!pattern.is_match(bad), "{bad:?}");
    }
}

/// The bucket is versioned with old versions expiring, aborts unfinished uploads everywhere, tiers
/// and expires `logs/` and `summaries/` only as asked (by default: tiered after 30 days, never
/// expired), and the queues outlive the stack.
#[test]
fn the_bucket_keeps_versions_briefly_tiers_logs_and_expires_nothing_curated_by_default() {
    let template = template();
    let bucket = &template["Resources"]["LakeBucket"]["Properties"];
    assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
    let rules = bucket["LifecycleConfiguration"]["Rules"].as_sequence().unwrap();
    let rule = |id: &str| rules.iter().find(|r| r["Id"] == id).unwrap_or_else(|| panic!("no rule {id}"));
    let abort = rule("abort-incomplete-uploads");
    assert!(abort.get("Prefix").is_none() && abort.get("Filter").is_none(), "bucket-wide");
    assert_eq!(abort["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"], 1);
    let noncurrent = &rule("expire-noncurrent-versions")["NoncurrentVersionExpiration"]["NoncurrentDays"];
    assert_eq!(resolve(&template, noncurrent), "7");
    let parameter = |name: &str| resolve(&template, &template["Parameters"][name]["Default"]);
    assert_eq!(
        (parameter("LogsTieringDays"), parameter("LogsExpirationDays"), parameter("SummariesExpirationDays")),
        ("30".to_owned(), "0".to_owned(), "0".to_owned()),
        "tiered, never expired by default"
    );
    for (id, prefix, condition) in [
        ("tier-logs", "logs/", "HasLogsTiering"),
        ("expire-logs", "logs/", "HasLogsExpiration"),
        ("expire-summaries", "summaries/", "HasSummariesExpiration"),
    ] {
        assert_eq!(rule(id)["Prefix"], prefix);
        assert!(format!("{:?}", rule(id)["Status"]).contains(condition), "{id} follows {condition}");
    }
    for queue in ["IngestFailureQueue", "IngestKinesisFailureQueue", "IngestS3Queue", "IngestS3DeadLetterQueue"] {
        assert_eq!(template["Resources"][queue]["DeletionPolicy"], "Retain", "{queue}");
    }
}

/// The unit function only reads a run's inputs and writes curated files (the run holds the
/// lease, the state, the view and every delete), and the compactor may invoke that one function.
#[test]
fn the_compactor_units_function_reads_inputs_writes_curated_files_and_nothing_else() {
    let template = template();
    let units = &template["Resources"]["CompactorUnitsFunction"]["Properties"];
    let statements = units["Policies"][0]["Statement"].as_sequence().unwrap();
    let granted: Vec<(String, Vec<String>)> = statements
        .iter()
        .map(|s| {
            let actions = s["Action"].as_sequence().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect();
            let resources = match s["Resource"].as_sequence() {
                Some(list) => list.iter().map(|r| resolve(&template, r)).collect(),
                None => vec![resolve(&template, &s["Resource"])],
            };
            (actions, resources)
        })
        .flat_map(|(actions, resources): (Vec<String>, Vec<String>)| {
            actions.into_iter().map(move |a| (a, resources.clone()))
        })
        .collect();
    // A unit reads staging and the curated files of its hour, of every table, and writes the
    // curated files of every table.
    let curated: Vec<String> = curated_prefixes().map(|prefix| format!("${{LakeBucket.Arn}}/{prefix}*")).collect();
    let inputs: Vec<String> =
        std::iter::once("${LakeBucket.Arn}/staging/*".to_owned()).chain(curated.clone()).collect();
    assert_eq!(granted, [("s3:GetObject".to_owned(), inputs), ("s3:PutObject".to_owned(), curated)]);
    let budget: u64 = units["Environment"]["Variables"]["LOGLAKE_COMPACT_MEMORY_MB"].as_str().unwrap().parse().unwrap();
    assert!(units["MemorySize"].as_u64().unwrap() >= 5 * budget);

    let compactor = &template["Resources"]["CompactorFunction"]["Properties"];
    let variables = &compactor["Environment"]["Variables"];
    // `!Ref CompactorUnitsFunction` (a resource resolves to its placeholder).
    assert_eq!(resolve(&template, &variables["LOGLAKE_COMPACT_UNIT_FUNCTION"]), "compactorunitsfunction-placeholder");
    let invoke = compactor["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["Action"][0] == "lambda:InvokeFunction")
        .expect("the compactor may invoke the unit function");
    assert!(format!("{:?}", invoke["Resource"]).contains("CompactorUnitsFunction.Arn"), "{:?}", invoke["Resource"]);
}

/// The view text the template deploys is the one the compactor makes for a lake never compacted,
/// in the form Athena reads (a Presto view document), and the compactor may replace it.
#[test]
fn the_reader_view_is_the_text_the_compactor_makes() {
    use base64::Engine as _;
    let template = template();
    let view = &template["Resources"]["LogsAllView"]["Properties"]["TableInput"];
    assert_eq!(view["Name"], loglake::compact::view::VIEW_NAME);
    assert_eq!(view["TableType"], "VIRTUAL_VIEW");
    assert_eq!(view["Parameters"]["presto_view"], "true");
    let serde_yaml::Value::Tagged(join) = &view["ViewOriginalText"] else { panic!("ViewOriginalText is not !Join") };
    assert_eq!(join.tag, "!Join");
    let parts = join.value.clone();
    let parts = parts.as_sequence().unwrap()[1].as_sequence().unwrap().clone();
    assert_eq!((parts[0].as_str(), parts[2].as_str()), (Some("/* Presto View: "), Some(" */")));
    let document = parts[1]["Fn::Base64"]["Fn::Sub"].as_str().unwrap().replace("${LakeDatabase}", "db");
    let deployed: serde_json::Value = serde_json::from_str(&document).unwrap();

    let logs_all = loglake::compact::view::reader_views(&Default::default(), "s3://bucket/").remove(0);
    let made = loglake::compact::view::glue_view_original_text(&logs_all, "db");
    let made = made.strip_prefix("/* Presto View: ").unwrap().strip_suffix(" */").unwrap();
    let made: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(made).unwrap()).unwrap();
    assert_eq!(deployed, made);
    let columns: Vec<&str> = view["StorageDescriptor"]["Columns"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    let names: Vec<&str> = made["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(columns, names);

    let compactor = &template["Resources"]["CompactorFunction"]["Properties"];
    let statements = compactor["Policies"][0]["Statement"].as_sequence().unwrap();
    let glue = statements.iter().find(|s| s["Action"][0] == "glue:GetTable").unwrap();
    let tables: Vec<String> = glue["Resource"].as_sequence().unwrap().iter().map(|r| resolve(&template, r)).collect();
    let views: Vec<String> = loglake::compact::view::reader_views(&Default::default(), "")
        .iter()
        .map(|view| format!("table/${{LakeDatabase}}/{}", view.name))
        .collect();
    let named: Vec<&String> = tables.iter().filter(|t| t.contains(":table/")).collect();
    assert_eq!(named.len(), views.len(), "the views only: {tables:?}");
    for view in &views {
        assert!(tables.iter().any(|t| t.ends_with(view.as_str())), "{view} in {tables:?}");
    }
}

/// The typed tables and their views in the template are what `loglake schema --table
/// typed-template` prints from their definitions (shared/src/lake/typed.rs), resource for
/// resource; the reader may read their files.
#[test]
fn the_typed_tables_and_views_are_the_resources_their_definitions_make() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loglake"))
        .args(["schema", "--table", "typed-template"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let made: Value = serde_yaml::from_slice(&out.stdout).unwrap();
    let made = made.as_mapping().unwrap();
    let template = template();
    assert_eq!(made.len(), 2 * loglake::lake::typed::TYPED_TABLES.len());
    for (id, resource) in made {
        assert_eq!(
            &template["Resources"][id], resource,
            "{id:?}: regenerate it with loglake schema --table typed-template"
        );
    }
    let runner = format!("{:?}", template["Resources"]["QueryRunnerFunction"]["Properties"]["Policies"]);
    for table in loglake::lake::typed::TYPED_TABLES {
        assert!(runner.contains(&format!("/{}/*", table.name)), "the query runner reads {}", table.name);
    }
}

#[test]
fn the_query_runner_may_run_queries_in_its_workgroup_and_write_summaries_but_never_touch_data() {
    let template = template();
    let function = &template["Resources"]["QueryRunnerFunction"]["Properties"];
    let statements = function["Policies"][0]["Statement"].as_sequence().unwrap();
    let text = format!("{statements:?}");
    assert!(text.contains("workgroup/${RollupWorkGroup}"), "Athena actions on its workgroup only");
    for statement in statements {
        let actions = format!("{:?}", statement["Action"]);
        let resources = format!("{:?}", statement["Resource"]);
        if actions.contains("s3:PutObject") || actions.contains("s3:DeleteObject") {
            for prefix in ["/logs/", "/staging/", "/errors/"] {
                assert!(!resources.contains(prefix), "the runner may not write {prefix}: {resources}");
            }
        }
    }
    // The workgroup enforces its result location and cuts off runaway scans.
    let workgroup = &template["Resources"]["RollupWorkGroup"]["Properties"]["WorkGroupConfiguration"];
    assert_eq!(workgroup["EnforceWorkGroupConfiguration"], true);
    assert!(matches!(&workgroup["BytesScannedCutoffPerQuery"], Value::Tagged(t) if t.tag == "!Ref"));
    // The timeout leaves the 20 s the runner keeps for storing a result after polling stops.
    assert!(function["Timeout"].as_u64().unwrap() >= 60);
}

/// DataFusion is the local engine only: no Lambda function, and not the shared crate they all
/// build on, may depend on it (it would add minutes of build and megabytes of binary).
#[test]
fn no_lambda_binary_depends_on_datafusion() {
    let root = format!("{}/..", env!("CARGO_MANIFEST_DIR"));
    let mut manifests = vec![format!("{root}/shared/Cargo.toml")];
    for entry in std::fs::read_dir(format!("{root}/functions")).unwrap() {
        manifests.push(format!("{}/Cargo.toml", entry.unwrap().path().display()));
    }
    assert!(manifests.len() >= 7, "{manifests:?}");
    for manifest in manifests {
        let text = std::fs::read_to_string(&manifest).unwrap();
        let dependencies = text.split("[dev-dependencies]").next().unwrap();
        assert!(!dependencies.contains("datafusion"), "{manifest} depends on DataFusion");
    }
}

/// The Lambda runtime is for the function binaries only: the CLI runs the same handlers without
/// it (the functions' `lambda` feature, which only their binaries need, is off for the CLI).
#[test]
fn the_cli_builds_the_handlers_without_the_lambda_runtime() {
    let root = format!("{}/..", env!("CARGO_MANIFEST_DIR"));
    let tree = |package: &str| {
        let out = std::process::Command::new(env!("CARGO"))
            .current_dir(&root)
            .args(["tree", "--offline", "--locked", "-e", "normal", "--prefix", "none", "-p", package])
            .output()
            .unwrap();
        assert!(out.status.success(), "cargo tree -p {package}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let runtime = |tree: &str| tree.lines().any(|line| line.starts_with("lambda_runtime "));
    assert!(runtime(&tree("ingest-cloudwatch")), "the function binary needs the runtime");
    let cli = tree("loglake-cli");
    assert!(cli.lines().any(|line| line.starts_with("ingest-cloudwatch ")), "the CLI runs the handler");
    assert!(!runtime(&cli), "the CLI must not build lambda_runtime");
    assert!(!runtime(&tree("loglake")), "nor the shared crate");
}

/// What every function shares is said once, in `Globals`: arm64, the OS-only runtime running the
/// `bootstrap` binary cargo-lambda builds, JSON logs. No function says it again, or differently.
#[test]
fn every_function_takes_runtime_architecture_and_logging_from_globals() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(globals["Architectures"], serde_yaml::from_str::<Value>("[arm64]").unwrap());
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
    for (name, function) in functions(&template) {
        for key in ["Runtime", "Handler", "Architectures"] {
            assert!(function["Properties"].get(key).is_none(), "{name} sets {key} again");
        }
        // Of logging, a function names only its own log group (SAM merges the rest in).
        let logging = function["Properties"]["LoggingConfig"].as_mapping().unwrap();
        assert_eq!(logging.keys().map(|k| k.as_str().unwrap()).collect::<Vec<_>>(), ["LogGroup"], "{name}");
    }
}

/// Every log group of the stack is `/loglake/<stack>/<name>` and each function logs into its
/// own: no loglake stack subscribes another's (log-subscriber skips the prefix, ingest drops its
/// events), and the account-level subscription excludes each of this stack's groups by name —
/// the only selection an account policy takes. With that policy Lambda's own START/REPORT lines
/// are off, so an invocation that only dropped another stack's events writes nothing.
#[test]
fn every_log_group_is_under_the_loglake_prefix_and_the_account_subscription_excludes_them() {
    use loglake::ingest::payload::OWN_LOG_GROUP_PREFIX;
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let mut names = Vec::new();
    for (id, resource) in resources {
        if resource["Type"] != "AWS::Logs::LogGroup" {
            continue;
        }
        let name = format!("{:?}", resource["Properties"]["LogGroupName"]);
        let prefix = format!("{OWN_LOG_GROUP_PREFIX}${{AWS::StackName}}/");
        let at = name.find(&prefix).unwrap_or_else(|| panic!("{id:?}: {name}"));
        let short = name[at + prefix.len()..].split('"').next().unwrap().to_owned();
        names.push((id.as_str().unwrap().to_owned(), format!("{prefix}{short}")));
    }
    assert_eq!(names.len(), 9, "{names:?}"); // eight functions and Firehose delivery
    for (name, function) in functions(&template) {
        let group = format!("{:?}", function["Properties"]["LoggingConfig"]["LogGroup"]);
        assert!(group.contains(&name.replace("Function", "LogGroup")), "{name}: {group}");
    }
    let policy = &template["Resources"]["AccountSubscriptionPolicy"];
    assert_eq!(policy["Condition"], "HasAccountSubscription");
    assert_eq!(policy["Properties"]["PolicyType"], "SUBSCRIPTION_FILTER_POLICY");
    let criteria = match &policy["Properties"]["SelectionCriteria"] {
        Value::Tagged(sub) => sub.value.as_str().unwrap().to_owned(),
        other => other.as_str().unwrap().to_owned(),
    };
    assert!(criteria.contains("LogGroupName NOT IN ["), "{criteria}");
    for (id, name) in &names {
        assert!(criteria.contains(&format!("\"{name}\"")), "{id} ({name}) is not excluded: {criteria}");
    }
    assert!(format!("{:?}", policy["Properties"]["PolicyDocument"]).contains("IngestCloudWatchFunction.Arn"));
    let subscriber = &template["Resources"]["LogSubscriberFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(subscriber[log_subscriber::vars::OWN_PREFIXES], OWN_LOG_GROUP_PREFIX);
    let system = format!("{:?}", template["Globals"]["Function"]["LoggingConfig"]["SystemLogLevel"]);
    assert!(system.contains("HasAccountSubscription") && system.contains("WARN"), "{system}");
}

/// Every place of the bucket the template names — permissions, lifecycle rules, table locations,
/// Firehose's prefixes, Athena's result location — is one of the lake's layout
/// (`loglake::lake::layout`, and the typed tables' folders), a folder that holds one, or the
/// whole bucket.
#[test]
fn every_bucket_location_in_the_template_is_part_of_the_lake_layout() {
    use loglake::lake::layout::{ALL_PREFIXES, ATHENA_RESULTS_PREFIX, FIREHOSE_DELIVERY_ERRORS_PREFIX, STAGING_PREFIX};
    let text = std::fs::read_to_string(format!("{}/../template.yaml", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut locations = Vec::new();
    for marker in ["${LakeBucket.Arn}/", "${LakeBucket}/", "Prefix: "] {
        for (at, _) in text.match_indices(marker) {
            let rest = text[at + marker.len()..].trim_start_matches('"');
            let end = rest.find(['"', '*', '$', '!', '\n', ' ']).unwrap_or(rest.len());
            locations.push(rest[..end].to_owned());
        }
    }
    assert!(locations.len() >= 20, "{locations:?}");
    for location in &locations {
        let typed = loglake::lake::typed::CuratedTable::all().map(|t| t.prefix());
        let known = location.is_empty()
            || ALL_PREFIXES.iter().any(|prefix| location.starts_with(prefix) || prefix.starts_with(location.as_str()))
            || typed.into_iter().any(|prefix| location.starts_with(&prefix));
        assert!(known, "template.yaml names {location:?}, which is not in lake::layout");
    }
    let template = template();
    let firehose = &template["Resources"]["DeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"];
    assert!(firehose["Prefix"].as_str().unwrap().starts_with(STAGING_PREFIX));
    assert!(firehose["ErrorOutputPrefix"].as_str().unwrap().starts_with(FIREHOSE_DELIVERY_ERRORS_PREFIX));
    assert!(text.contains(&format!("s3://${{LakeBucket}}/{ATHENA_RESULTS_PREFIX}\"")));
}

/// Every projected table enumerates the days the writers can produce (the one range of
/// `lake::schema`), and the query runner's windows are on the partition clock.
#[test]
fn projection_ranges_and_the_rollup_clock_follow_the_partitions() {
    let template = template();
    let mut ranges = 0;
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        let parameters = &resource["Properties"]["TableInput"]["Parameters"];
        if let Some(range) = parameters["projection.dt.range"].as_str() {
            assert_eq!(range, loglake::lake::schema::PROJECTION_DT_RANGE, "{name:?}");
            ranges += 1;
        }
    }
    assert!(ranges >= 8, "{ranges}");
    let variables = &template["Resources"]["QueryRunnerFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(resolve(&template, &variables["LOGLAKE_PARTITION_TIME_ZONE"]), "UTC");
    assert_eq!(
        variables["LOGLAKE_PARTITION_TIME_ZONE"],
        template["Resources"]["IngestCloudWatchFunction"]["Properties"]["Environment"]["Variables"]["LOGLAKE_PARTITION_TIME_ZONE"]
    );
}

/// The names a value refers to (`!Ref`, `!GetAtt`, `${…}` in `!Sub`), leaving out what sits
/// inside an `!If` (guarded by its condition) and pseudo parameters.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Tagged(tagged) => match tagged.tag.to_string().as_str() {
            "!If" => {}
            "!Ref" => out.extend(tagged.value.as_str().map(str::to_owned)),
            "!GetAtt" => out.extend(tagged.value.as_str().and_then(|v| v.split('.').next()).map(str::to_owned)),
            "!Sub" => {
                let text = match &tagged.value {
                    Value::Sequence(items) => items[0].as_str().unwrap_or_default(),
                    other => other.as_str().unwrap_or_default(),
                };
                for part in text.split("${").skip(1) {
                    let name = part.split('}').next().unwrap().split('.').next().unwrap();
                    out.push(name.to_owned());
                }
                if let Value::Sequence(items) = &tagged.value {
                    items.iter().skip(1).for_each(|item| references(item, out));
                }
            }
            _ => references(&tagged.value, out),
        },
        Value::Sequence(items) => items.iter().for_each(|item| references(item, out)),
        Value::Mapping(map) => map.values().for_each(|item| references(item, out)),
        _ => {}
    }
    out.retain(|name| !name.starts_with("AWS::"));
}

/// Whether condition `held` (of the one who refers) implies `needed` (of what it refers to): the
/// same condition, or an `!And` with it among its terms.
fn implies(template: &Value, held: Option<&str>, needed: &str) -> bool {
    let Some(held) = held else { return false };
    if held == needed {
        return true;
    }
    match &template["Conditions"][held] {
        Value::Tagged(and) if and.tag == "!And" => and.value.as_sequence().unwrap().iter().any(|term| match term {
            Value::Tagged(c) if c.tag == "!Condition" => implies(template, c.value.as_str(), needed),
            _ => false,
        }),
        _ => false,
    }
}

/// A condition's value when every parameter has its default.
fn holds_by_default(template: &Value, condition: &Value) -> bool {
    let operand = |value: &Value| match value {
        Value::Tagged(r) if r.tag == "!Ref" => resolve(template, value),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("unexpected operand {other:?}"),
    };
    let Value::Tagged(tagged) = condition else { panic!("unexpected condition {condition:?}") };
    let terms = || tagged.value.as_sequence().unwrap().iter();
    match tagged.tag.to_string().as_str() {
        "!Equals" => {
            let pair: Vec<String> = terms().map(operand).collect();
            pair[0] == pair[1]
        }
        "!Not" => !holds_by_default(template, &tagged.value.as_sequence().unwrap()[0]),
        "!And" => terms().all(|term| holds_by_default(template, term)),
        "!Or" => terms().any(|term| holds_by_default(template, term)),
        "!Condition" => holds_by_default(template, &template["Conditions"][tagged.value.as_str().unwrap()]),
        other => panic!("unexpected condition function {other}"),
    }
}

/// `sam deploy --guided` with every default gives a working stack: every parameter has a
/// default, and nothing deployed refers to a resource its condition may leave out. With the
/// defaults, no idle-billed path (the Kinesis stream) and no subscription is deployed.
#[test]
fn the_stack_deploys_with_every_default_and_its_conditions_are_consistent() {
    let template = template();
    for (name, parameter) in template["Parameters"].as_mapping().unwrap() {
        assert!(parameter.get("Default").is_some(), "{name:?} has no default");
    }
    let resources = template["Resources"].as_mapping().unwrap();
    let condition_of = |name: &str| resources.get(name).and_then(|r| r["Condition"].as_str());
    let outputs = template["Outputs"].as_mapping().unwrap();
    let mut checked = 0;
    for (name, item) in resources.iter().chain(outputs) {
        let mut refs = Vec::new();
        references(item, &mut refs);
        match &item["DependsOn"] {
            Value::String(target) => refs.push(target.clone()),
            Value::Sequence(targets) => refs.extend(targets.iter().filter_map(|t| t.as_str().map(str::to_owned))),
            _ => {}
        }
        for target in refs {
            if let Some(needed) = condition_of(&target) {
                assert!(
                    implies(&template, item["Condition"].as_str(), needed),
                    "{name:?} refers to {target} (condition {needed}) without that condition"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 12, "{checked} conditional references");

    let deployed = |name: &str| {
        let condition = &resources[name]["Condition"];
        condition.as_str().is_none_or(|c| holds_by_default(&template, &template["Conditions"][c]))
    };
    for absent in [
        "LogStream",
        "IngestKinesisFunction",
        "SubscriptionFilter",
        "KinesisSubscriptionFilter",
        "LogSubscriberFunction",
    ] {
        assert!(!deployed(absent), "{absent} is deployed by default");
    }
    for present in
        ["LakeBucket", "IngestCloudWatchFunction", "DeliveryStream", "CompactorFunction", "QueryRunnerFunction"]
    {
        assert!(deployed(present), "{present} is not deployed by default");
    }
}

/// Someone is told: every function's errors and throttles, both failure queues, the Kinesis
/// iterator age and Firehose's freshness and transform failures each have an alarm that notifies
/// the topic (when it fires and when it clears), and the topic mails the address given.
#[test]
fn every_function_and_queue_has_an_alarm_on_the_topic() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let alarms: Vec<&Value> = resources.values().filter(|r| r["Type"] == "AWS::CloudWatch::Alarm").collect();
    for alarm in &alarms {
        for actions in ["AlarmActions", "OKActions"] {
            assert!(format!("{:?}", alarm["Properties"][actions]).contains("AlarmTopic"), "{alarm:?}");
        }
        // Only staleness is an alarm when its metric stops: a compactor that never finishes a
        // run emits nothing. Every other silence means nothing happened.
        let missing =
            if alarm["Properties"]["MetricName"] == "OldestStagingAge" { "breaching" } else { "notBreaching" };
        assert_eq!(alarm["Properties"]["TreatMissingData"], missing, "{alarm:?}");
    }
    let watched = |namespace: &str, metric: &str, target: &str| {
        alarms.iter().any(|a| {
            let p = &a["Properties"];
            p["Namespace"] == namespace
                && p["MetricName"] == metric
                && format!("{:?}", p["Dimensions"]).contains(target)
        })
    };
    for (name, _) in functions(&template) {
        for metric in ["Errors", "Throttles"] {
            assert!(watched("AWS/Lambda", metric, &name), "{name}: no {metric} alarm");
        }
    }
    assert!(watched("AWS/Lambda", "IteratorAge", "IngestKinesisFunction"));
    assert!(watched("AWS/SQS", "ApproximateAgeOfOldestMessage", "IngestS3Queue"));
    assert!(watched("AWS/SQS", "ApproximateAgeOfOldestMessage", "IngestS3Queue"));
    for queue in ["IngestFailureQueue", "IngestKinesisFailureQueue", "IngestS3DeadLetterQueue"] {
        assert!(watched("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue), "{queue}");
    }
    for metric in ["DeliveryToS3.DataFreshness", "ExecuteProcessing.Success"] {
        assert!(watched("AWS/Firehose", metric, "DeliveryStream"), "{metric}");
    }
    let subscription = &template["Resources"]["AlarmEmailSubscription"];
    assert_eq!(
        (subscription["Condition"].as_str(), subscription["Properties"]["Protocol"].as_str()),
        (Some("HasAlarmEmail"), Some("email"))
    );
}

/// The alarms on loglake's own metrics watch what the functions emit: each metric name is one of
/// the measurements the binaries print (the same functions: `IngestReport::measurement`,
/// `RunRecord::measurement`, `QueryRun::measurement`), in exactly this stack's series (dimension
/// `Stack`, which every function is given in `Globals`).
#[test]
fn every_alarm_on_loglake_metrics_watches_a_metric_the_functions_emit() {
    use loglake::compact::state::RunRecord;
    use loglake::ingest::report::IngestReport;
    use loglake::metrics::{NAMESPACE, STACK_DIMENSION};
    use loglake::rollup::query_file::{Window, WindowBounds};
    use loglake::rollup::runs::{QueryRun, RunState};

    let finished = chrono::DateTime::from_timestamp(1_795_168_900, 0).unwrap();
    let query_run = QueryRun {
        query: "errors_by_group_hourly".into(),
        window: WindowBounds::last_closed(Window::Hourly, finished, chrono_tz::UTC),
        engine: "athena",
        execution_id: "e".into(),
        state: RunState::Failed("SYNTAX_ERROR".into()),
        bytes_scanned: 0,
        engine_ms: 0,
        reused: false,
        rows: None,
        started: finished,
        finished,
    };
    let measurements = [
        IngestReport::default().measurement(0),
        RunRecord::measurement(&[RunRecord::default()], 0),
        query_run.measurement(),
    ];
    let emitted: Vec<&str> =
        measurements.iter().flat_map(|m| m.values.iter().map(|(metric, _)| metric.name())).collect();

    let template = template();
    let mut watched: Vec<&str> = Vec::new();
    for (name, alarm) in template["Resources"].as_mapping().unwrap() {
        let properties = &alarm["Properties"];
        if alarm["Type"] != "AWS::CloudWatch::Alarm" || properties["Namespace"] != NAMESPACE {
            continue;
        }
        let metric = properties["MetricName"].as_str().unwrap();
        assert!(emitted.contains(&metric), "{name:?} watches {metric}, which no function emits ({emitted:?})");
        let dimensions = format!("{:?}", properties["Dimensions"]);
        assert_eq!(properties["Dimensions"].as_sequence().unwrap().len(), 1, "{name:?}: {dimensions}");
        assert_eq!(properties["Dimensions"][0]["Name"], STACK_DIMENSION, "{name:?}");
        assert!(dimensions.contains("AWS::StackName"), "{name:?}: {dimensions}");
        watched.push(metric);
    }
    watched.sort();
    assert_eq!(watched, ["CompactionHoursFailed", "DeadLetters", "OldestStagingAge", "RollupWindowsFailed"]);
    let stack = &template["Globals"]["Function"]["Environment"]["Variables"][loglake::config::vars::STACK];
    assert!(format!("{stack:?}").contains("AWS::StackName"), "{stack:?}");
}

/// The cost model (cost/model.json, `loglake cost-per-tb`) prices each function at the memory the
/// template gives it.
#[test]
fn the_cost_model_prices_each_function_at_its_template_memory() {
    let template = template();
    let model: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/../cost/model.json", env!("CARGO_MANIFEST_DIR"))).unwrap(),
    )
    .unwrap();
    for (resource, key) in [
        ("IngestCloudWatchFunction", "ingest_cloudwatch_memory_mb"),
        ("IngestKinesisFunction", "ingest_kinesis_memory_mb"),
        ("FirehoseTransformFunction", "firehose_transform_memory_mb"),
        ("CompactorFunction", "compactor_memory_mb"),
    ] {
        let memory = template["Resources"][resource]["Properties"]["MemorySize"].as_f64().unwrap();
        assert_eq!(model[key].as_f64(), Some(memory), "{key} vs {resource}");
    }
}
