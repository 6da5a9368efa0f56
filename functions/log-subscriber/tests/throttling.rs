//! Throttling during a sweep is retried with backoff, on the real client: CloudWatch Logs'
//! `ThrottlingException` responses come from the SDK's own mocking utilities (a server like moto
//! cannot throttle), through the client configured with the function's retry settings.

use std::time::Duration;

use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use log_subscriber::{LogsApi, SdkLogs, retry_config};

fn throttled() -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
        aws_smithy_types::body::SdkBody::from(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
    )
}

fn one_group() -> DescribeLogGroupsOutput {
    DescribeLogGroupsOutput::builder()
        .log_groups(
            LogGroup::builder()
                .log_group_name("/aws/lambda/app")
                .arn("arn:aws:logs:us-east-1:1:log-group:/aws/lambda/app:*")
                .build(),
        )
        .build()
}

#[tokio::test]
async fn throttled_calls_are_retried_until_they_succeed() {
    let rule = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
        .sequence()
        .http_response(throttled)
        .times(5)
        .output(one_group)
        .build();
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::Sequential, [&rule], |config| config
        .retry_config(retry_config().with_initial_backoff(Duration::from_millis(1))));
    let groups = SdkLogs::from_client(client).log_groups(None).await.expect("retried past the throttling");
    assert_eq!(groups[0].name, "/aws/lambda/app");
    assert_eq!(rule.num_calls(), 6, "five throttled attempts, then the answer");
}

#[tokio::test]
async fn throttling_that_does_not_stop_is_an_error_after_the_last_attempt() {
    let rule = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
        .sequence()
        .http_response(throttled)
        .times(20)
        .build();
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::Sequential, [&rule], |config| config
        .retry_config(retry_config().with_initial_backoff(Duration::from_millis(1))));
    let error = SdkLogs::from_client(client).log_groups(None).await.unwrap_err();
    assert!(error.to_string().contains("ThrottlingException"), "{error}");
    assert_eq!(rule.num_calls(), 8, "the configured attempts, no more");
}
