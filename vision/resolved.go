package vision

// Resolved returns o with every zero field replaced by the default it stands
// for (mode, sizes, mean, std, scale, limits), so that it can be recorded or
// compared field by field.
func (o Options) Resolved() Options {
	r := o
	r.Mode, r.ResizeShort, r.Crop = o.mode(), o.resizeShort(), o.crop()
	r.Mean, r.Std = o.meanStd()
	r.Scale = o.scale()
	r.MaxPixels, r.MaxBytes = o.maxPixels(), o.maxBytes()
	return r
}
