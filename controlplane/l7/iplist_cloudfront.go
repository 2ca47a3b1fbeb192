package l7

// cloudfrontIPv4List are CloudFront's edge ranges that Amazon published
// (service CLOUDFRONT, listed under AMAZON too) after the 2017 copy of
// ip-ranges.json that iplist_aws_gen.go is generated from, so nDPI ≥4.4
// labels them AmazonAWS and awsIPv4List does not. No newer copy of
// Amazon's file is reachable here: these are the long-standing /14–/16 edge
// blocks of Amazon's CloudFront list (13.224.0.0/14 since 2018; ntopng's
// recorded answers label 13.224.102.x AmazonAWS), written down by hand and
// kept to prefixes whose owner is not in doubt. Regenerating
// iplist_aws_gen.go from a current ip-ranges.json makes this list redundant
// (TestCloudFrontListCoveredByNewerFile says so once it is).
const cloudfrontIPv4List = `
AmazonAWS 13.224.0.0/14 18.64.0.0/14 18.160.0.0/15 65.8.0.0/16
AmazonAWS 99.84.0.0/16 99.86.0.0/16 108.138.0.0/15 108.156.0.0/14 143.204.0.0/16
`
