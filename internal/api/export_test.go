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
