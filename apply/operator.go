package apply

// operatorVars are the environment variables naming who runs an apply, most
// specific first: CI systems name the person who triggered the job, while
// $USER in CI is the runner's account.
var operatorVars = []string{
	"GITHUB_ACTOR",                  // GitHub Actions
	"GITLAB_USER_LOGIN",             // GitLab CI
	"BUILDKITE_BUILD_CREATOR_EMAIL", // Buildkite
	"CIRCLE_USERNAME",               // CircleCI
	"BITBUCKET_STEP_TRIGGERER_UUID", // Bitbucket Pipelines
	"BUILD_REQUESTEDFOREMAIL",       // Azure Pipelines
	"JENKINS_USER_ID",               // Jenkins (build-user-vars plugin)
	"USER", "USERNAME", "LOGNAME",   // a person at a terminal
}

// Operator says who runs an apply, from the environment: the CI system's
// triggering user when there is one, else the login name. source is the
// variable it came from; both are empty when none is set.
func Operator(getenv func(string) string) (name, source string) {
	for _, v := range operatorVars {
		if s := getenv(v); s != "" {
			return s, v
		}
	}
	return "", ""
}
