package api

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/counterspy/counterspy/internal/groups"
)

// The group operations. X-Ray's model declares only InvalidRequestException
// (and ThrottledException) for them, so an unknown group is an
// InvalidRequestException ("Group not found"), not a ResourceNotFoundException.

// groupsPageSize is how many groups one GetGroups page holds.
var groupsPageSize = 100

type groupOutput struct {
	GroupName             string
	GroupARN              string
	FilterExpression      string `json:",omitempty"`
	InsightsConfiguration insightsOutput
}

type insightsOutput struct {
	InsightsEnabled, NotificationsEnabled bool
}

type insightsInput struct {
	InsightsEnabled      *bool
	NotificationsEnabled *bool
}

type tagInput struct {
	Key   *string
	Value *string
}

type createGroupInput struct {
	GroupName             *string
	FilterExpression      *string
	InsightsConfiguration *insightsInput
	Tags                  []tagInput
}

type groupRefInput struct {
	GroupName *string
	GroupARN  *string
}

type updateGroupInput struct {
	GroupName             *string
	GroupARN              *string
	FilterExpression      *string
	InsightsConfiguration *insightsInput
}

type getGroupsInput struct {
	NextToken *string
}

type groupResult struct {
	Group groupOutput
}

type getGroupsOutput struct {
	Groups    []groupOutput
	NextToken string `json:",omitempty"`
}

func renderGroup(g *groups.Group) groupOutput {
	return groupOutput{GroupName: g.Name, GroupARN: g.ARN, FilterExpression: g.FilterExpression,
		InsightsConfiguration: insightsOutput(g.Insights)}
}

// groupError turns a registry refusal into X-Ray's error.
func groupError(err error) error {
	var ge *groups.Error
	if errors.As(err, &ge) {
		return invalid("%s", ge.Msg)
	}
	return err
}

// registry is the group registry, or an error for the operations that need
// one when none is configured.
func (a *API) registry() (*groups.Registry, error) {
	if a.opts.Registry == nil {
		return nil, invalid("Groups are not available: this server keeps only the Default group")
	}
	return a.opts.Registry, nil
}

// groupRef is the group a request names by GroupName or GroupARN.
func groupRef(name, arn *string) (string, error) {
	n, r := "", ""
	if name != nil {
		n = *name
	}
	if arn != nil {
		r = *arn
	}
	switch {
	case n == "" && r == "":
		return "", invalid("GroupName or GroupARN is required")
	case r != "":
		return r, nil
	}
	return n, nil
}

// checkRef rejects a GroupName and a GroupARN that name different groups.
func checkRef(g *groups.Group, name *string) error {
	if name != nil && *name != "" && *name != g.Name {
		return invalid("GroupName %q and GroupARN %q name different groups", *name, g.ARN)
	}
	return nil
}

func (a *API) createGroup(ctx context.Context, body []byte) (any, error) {
	var in createGroupInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	reg, err := a.registry()
	if err != nil {
		return nil, err
	}
	if in.GroupName == nil {
		return nil, invalid("GroupName is required")
	}
	ci := groups.CreateInput{Name: *in.GroupName}
	if in.FilterExpression != nil {
		ci.FilterExpression = *in.FilterExpression
	}
	if in.InsightsConfiguration != nil {
		ins := mergeInsights(groups.Insights{}, in.InsightsConfiguration)
		ci.Insights = &ins
	}
	for _, t := range in.Tags {
		if t.Key == nil || t.Value == nil {
			return nil, invalid("Tags: every tag needs a Key and a Value")
		}
		ci.Tags = append(ci.Tags, groups.Tag{Key: *t.Key, Value: *t.Value})
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	g, err := reg.Create(ctx, ci)
	if err != nil {
		return nil, groupError(err)
	}
	// The tag store is what ListTagsForResource reads (the registry keeps
	// the creation tags too).
	if len(tags) > 0 {
		if err := a.putTags(ctx, g.ARN, tags); err != nil {
			return nil, err
		}
	}
	return groupResult{renderGroup(&g)}, nil
}

func mergeInsights(cur groups.Insights, in *insightsInput) groups.Insights {
	if in.InsightsEnabled != nil {
		cur.InsightsEnabled = *in.InsightsEnabled
	}
	if in.NotificationsEnabled != nil {
		cur.NotificationsEnabled = *in.NotificationsEnabled
	}
	return cur
}

// lookupGroup finds the group a request names; without a registry only
// Default exists.
func (a *API) lookupGroup(name, arn *string) (groups.Group, error) {
	ref, err := groupRef(name, arn)
	if err != nil {
		return groups.Group{}, err
	}
	if a.opts.Registry == nil {
		if ref == groups.DefaultName {
			return a.defaultGroup(), nil
		}
		return groups.Group{}, invalid("Group not found: %q", ref)
	}
	g, err := a.opts.Registry.Get(ref)
	if err != nil {
		return groups.Group{}, groupError(err)
	}
	if err := checkRef(&g, name); err != nil {
		return groups.Group{}, err
	}
	return g, nil
}

func (a *API) defaultGroup() groups.Group {
	return groups.Group{Name: groups.DefaultName, ARN: "arn:aws:xray:" + a.opts.Region + ":" + a.opts.AccountID + ":group/" + groups.DefaultName}
}

func (a *API) getGroup(ctx context.Context, body []byte) (any, error) {
	var in groupRefInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	g, err := a.lookupGroup(in.GroupName, in.GroupARN)
	if err != nil {
		return nil, err
	}
	return groupResult{renderGroup(&g)}, nil
}

func (a *API) updateGroup(ctx context.Context, body []byte) (any, error) {
	var in updateGroupInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	reg, err := a.registry()
	if err != nil {
		return nil, err
	}
	g, err := a.lookupGroup(in.GroupName, in.GroupARN)
	if err != nil {
		return nil, err
	}
	ui := groups.UpdateInput{FilterExpression: in.FilterExpression}
	if in.InsightsConfiguration != nil {
		ins := mergeInsights(g.Insights, in.InsightsConfiguration)
		ui.Insights = &ins
	}
	u, err := reg.Update(ctx, g.ARN, ui)
	if err != nil {
		return nil, groupError(err)
	}
	return groupResult{renderGroup(&u)}, nil
}

func (a *API) deleteGroup(ctx context.Context, body []byte) (any, error) {
	var in groupRefInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	reg, err := a.registry()
	if err != nil {
		return nil, err
	}
	g, err := a.lookupGroup(in.GroupName, in.GroupARN)
	if err != nil {
		return nil, err
	}
	if err := reg.Delete(ctx, g.ARN); err != nil {
		return nil, groupError(err)
	}
	if err := a.deleteTags(ctx, g.ARN); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (a *API) getGroups(ctx context.Context, body []byte) (any, error) {
	var in getGroupsInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	var list []groups.Group
	if a.opts.Registry != nil {
		list = a.opts.Registry.List()
	} else {
		list = []groups.Group{a.defaultGroup()}
	}
	start := 0
	if in.NextToken != nil && *in.NextToken != "" {
		after, err := parseGroupsToken(*in.NextToken)
		if err != nil {
			return nil, err
		}
		// Default is first; the others are in name order. A group deleted
		// since the last page does not lose our place.
		start = len(list)
		for i := 1; i < len(list); i++ {
			if after == groups.DefaultName || list[i].Name > after {
				start = i
				break
			}
		}
	}
	out := getGroupsOutput{Groups: []groupOutput{}}
	page := list[start:]
	if len(page) > groupsPageSize {
		page = page[:groupsPageSize]
		out.NextToken = groupsToken(page[len(page)-1].Name)
	}
	for i := range page {
		out.Groups = append(out.Groups, renderGroup(&page[i]))
	}
	return out, nil
}

func groupsToken(last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("g1:" + last))
}

func parseGroupsToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	name, ok := strings.CutPrefix(string(b), "g1:")
	if err != nil || !ok || name == "" {
		return "", invalid("NextToken %q is not a token from GetGroups", tok)
	}
	return name, nil
}
