//! The `logs` schema is defined once (the Arrow schema of the shared crate); the DDL printed
//! by `loglake schema` and the Glue columns in template.yaml must list the same columns.

use std::process::Command;

use loglake::lake::schema::hive_columns;

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn ddl_columns(ddl: &str) -> Vec<(String, String)> {
    let body = ddl.split_once("(\n").unwrap().1.split_once("\n)").unwrap().0;
    body.lines()
        .map(|line| {
            let line = line.trim().trim_end_matches(',');
            let (name, ty) = line.split_once(' ').unwrap();
            (name.trim_matches('`').to_owned(), ty.to_owned())
        })
        .collect()
}

#[test]
fn printed_ddl_matches_the_arrow_schema() {
    for table in ["logs", "staging"] {
        let out = Command::new(env!("CARGO_BIN_EXE_loglake"))
            .args(["schema", "--table", table, "--bucket", "example-lake"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let ddl = String::from_utf8(out.stdout).unwrap();
        assert_eq!(ddl_columns(&ddl), hive_columns(), "{table}");
        assert!(ddl.contains("PARTITIONED BY (`dt` string, `hour` string)"));
        assert!(ddl.contains("'projection.enabled'='true'"));
    }
}

/// Each typed table's DDL lists the columns of its one definition, with the AWS types, and its view.
#[test]
fn printed_typed_ddl_matches_the_typed_tables() {
    let out = Command::new(env!("CARGO_BIN_EXE_loglake"))
        .args(["schema", "--table", "typed", "--bucket", "example-lake"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ddl = String::from_utf8(out.stdout).unwrap();
    let statements: Vec<&str> = ddl.split("CREATE EXTERNAL TABLE").skip(1).collect();
    assert_eq!(statements.len(), loglake::lake::typed::TYPED_TABLES.len());
    for (table, statement) in loglake::lake::typed::TYPED_TABLES.iter().zip(statements) {
        let (table_ddl, view) = statement.split_once("CREATE OR REPLACE VIEW").unwrap();
        assert_eq!(
            ddl_columns(table_ddl),
            loglake::lake::typed::CuratedTable::Typed(table).hive_columns(),
            "{}",
            table.name
        );
        assert!(table_ddl.contains(&format!("LOCATION 's3://example-lake/{}/'", table.name)));
        assert!(view.contains(&format!("\"{}_all\"", table.name)) && view.contains("UNION ALL"));
    }
    for column in ["`bytes` bigint", "`dstport` int", "`elb_status_code` int", "`target_processing_time` double"] {
        assert!(ddl.contains(column), "{column}");
    }
    assert!(ddl.contains("`useridentity` struct<type:string,principalid:string,arn:string,"), "{ddl}");
}

#[test]
fn schema_refuses_a_bucket_that_is_not_a_bucket_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_loglake"))
        .args(["schema", "--bucket", "x'; DROP TABLE logs; --"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid S3 bucket name"));
}

#[test]
fn template_glue_columns_match_the_arrow_schema() {
    let template: serde_yaml::Value = serde_yaml::from_str(&repo_file("template.yaml")).unwrap();
    let resources = template.get("Resources").unwrap().as_mapping().unwrap();
    let mut tables = 0;
    for (name, resource) in resources {
        if resource.get("Type").and_then(|t| t.as_str()) != Some("AWS::Glue::Table") {
            continue;
        }
        let input = &resource["Properties"]["TableInput"];
        if input["TableType"] == "VIRTUAL_VIEW" {
            continue; // the reader view: tests/template.rs
        }
        let columns: Vec<(String, String)> = input["StorageDescriptor"]["Columns"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|c| (c["Name"].as_str().unwrap().to_owned(), c["Type"].as_str().unwrap().to_owned()))
            .collect();
        if input["Name"] == "query_runs" {
            let want: Vec<(String, String)> = loglake::rollup::runs::query_runs_schema()
                .fields()
                .iter()
                .map(|f| (f.name().clone(), loglake::lake::schema::hive_type(f.data_type())))
                .collect();
            assert_eq!(columns, want, "query_runs");
            continue;
        }
        if format!("{:?}", input["StorageDescriptor"]["Location"]).contains("/summaries/") {
            continue; // summaries: their columns are what each query returns (cli/src/rollups_tests.rs)
        }
        let typed = input["Name"].as_str().and_then(loglake::lake::typed::table_named);
        if let Some(typed) = typed {
            assert_eq!(columns, loglake::lake::typed::CuratedTable::Typed(typed).hive_columns(), "{name:?}");
            continue; // and the rest: tests/template.rs
        }
        tables += 1;
        assert_eq!(columns, hive_columns(), "{name:?}");
        let partitions: Vec<&str> =
            input["PartitionKeys"].as_sequence().unwrap().iter().map(|c| c["Name"].as_str().unwrap()).collect();
        assert_eq!(partitions, loglake::lake::schema::PARTITION_COLUMNS, "{name:?}");
    }
    assert_eq!(tables, 2, "logs and logs_staging");
}
