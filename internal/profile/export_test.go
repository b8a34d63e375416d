package profile

var TTwoSided = tTwoSided
