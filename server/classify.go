package server

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dla-go/dla"
)

// classify serves POST /v1/classify[?model=NAME&topk=K]: an image as the
// body (image/* or application/octet-stream) or as the one file of a
// multipart form, answered with the JSON of `dla predict --json`.
func (s *Server) classify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := q.Get("model")
	if name == "" {
		name = s.order[0]
	}
	m, err := s.lookup(name, "")
	if err != nil {
		writeError(w, err)
		return
	}
	k := 5
	if v := q.Get("topk"); v != "" {
		if k, err = strconv.Atoi(v); err != nil || k < 1 || k > m.classes {
			writeError(w, badRequest("topk %q: want 1 to %d", v, m.classes))
			return
		}
	}
	var upload string
	_, logits, err := s.run(r.Context(), m, func(ctx context.Context) (*batchInput, time.Duration, error) {
		img, filename, err := s.readImage(w, r)
		if err != nil {
			return nil, 0, err
		}
		upload = filename
		in, err := s.imageInput(ctx, m, [][]byte{img})
		return in, 0, err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, dla.Classification{Image: upload, Predictions: m.model.TopK(logits, k)})
}

// readImage reads the encoded image of a classify request and the file
// name it was uploaded with, if any.
func (s *Server) readImage(w http.ResponseWriter, r *http.Request) ([]byte, string, error) {
	ct := r.Header.Get("Content-Type")
	mt := ""
	if ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return nil, "", unsupportedMedia("Content-Type %q: %v", ct, err)
		}
	}
	switch {
	case mt == "multipart/form-data":
		return s.readUpload(w, r)
	case mt == "" || mt == "application/octet-stream" || strings.HasPrefix(mt, "image/"):
		body, err := s.readBody(w, r)
		if err == nil && len(body) == 0 {
			err = badRequest("the request body is empty: send an image")
		}
		return body, "", err
	}
	return nil, "", unsupportedMedia("Content-Type %q: send an image (image/*, application/octet-stream) or a multipart/form-data upload", ct)
}

// readUpload reads the one file part of a multipart form, streaming (no
// temporary files), within the body limit.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request) ([]byte, string, error) {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, "", tooLarge("the request body is %d bytes, over the limit of %d", r.ContentLength, s.cfg.MaxBodyBytes)
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", badRequest("multipart form: %v", err)
	}
	var img []byte
	var filename string
	found := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", uploadError(err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, "", uploadError(err)
		}
		if part.FileName() == "" {
			continue // other form fields
		}
		if found {
			return nil, "", badRequest("multipart form: send one image per request")
		}
		img, filename, found = b, part.FileName(), true
	}
	if !found || len(img) == 0 {
		return nil, "", badRequest("multipart form: no image file in it")
	}
	return img, filename, nil
}

func uploadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge("the request body is over the limit of %d bytes", mbe.Limit)
	}
	return badRequest("multipart form: %v", err)
}

// modelInfo describes a model for the page.
type modelInfo struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Classes   int    `json:"classes"`
	InputSize int    `json:"input_size"`
}

// listModels serves GET /v1/models: the served models, in the order given.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	out := make([]modelInfo, 0, len(s.order))
	for _, name := range s.order {
		m := s.models[name]
		out = append(out, modelInfo{Name: name, Version: modelVersion, Classes: m.classes, InputSize: m.crop})
	}
	writeJSON(w, http.StatusOK, out)
}
