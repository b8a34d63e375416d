package api

import "testing"

// SetPageSizes shrinks the GetServiceGraph and GetGroups pages for the
// rest of the test, so that paging is tested with few services and groups.
func SetPageSizes(t testing.TB, graphServices, groupsPerPage int) {
	oldGraph, oldGroups := graphPageSize, groupsPageSize
	graphPageSize, groupsPageSize = graphServices, groupsPerPage
	t.Cleanup(func() { graphPageSize, groupsPageSize = oldGraph, oldGroups })
}

// ModelInputs is the request side of the model the API validates with.
const ModelInputs = modelInputs

// SetProfileExamplesBounds shrinks the examples scan's budget and page for
// the rest of the test.
func SetProfileExamplesBounds(t testing.TB, maxTraces, page int) {
	oldMax, oldPage := profileExamplesMaxTraces, profileExamplesPage
	profileExamplesMaxTraces, profileExamplesPage = maxTraces, page
	t.Cleanup(func() { profileExamplesMaxTraces, profileExamplesPage = oldMax, oldPage })
}
